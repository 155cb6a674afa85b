"""Normalization of client-sent SYSTEM facts: validation, canonical values, derived facts."""

from __future__ import annotations

import ipaddress
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbservice.catalog.facts import (
    EDITION_NOT_RECOGNISED,
    MAX_FACT_ITEMS,
    PRODUCT_AMBIGUOUS,
    PRODUCT_NOT_RECOGNISED,
    SOURCE_IGNORED,
    FactsValidationError,
    NormalizedSystem,
    normalize_system,
)
from kbservice.catalog.products import load_catalog_file
from tests.inventory_samples import SALT, SYSTEMINFO_EN, WMI

CATALOG = load_catalog_file(Path(__file__).resolve().parents[2] / "seeds" / "products.yaml")
SERVER_2003_ENTERPRISE = "Microsoft Windows Server 2003 Enterprise Edition"


def normalize(raw: object) -> NormalizedSystem:
    return normalize_system(raw, CATALOG)


def errors_of(raw: object) -> dict[str, list[str]]:
    with pytest.raises(FactsValidationError) as caught:
        normalize(raw)
    return caught.value.errors


def codes(system: NormalizedSystem) -> list[str]:
    return [w.code for w in system.warnings]


# --- explicit facts


def test_explicit_facts_are_canonicalised_and_nothing_is_derived() -> None:
    system = normalize(
        {
            "product": " Windows_Server_2003 ",
            "edition": "Enterprise",
            "architecture": "AMD64",
            "service_pack": 2,
            "roles": ["VPN_Server", "vpn_server", " dns_server "],
            "behind_nat": True,
            "installed_updates": ["kb885407", "885407", "KB 885407", "KB123"],
        }
    )
    assert system.facts == {
        "product": "windows_server_2003",
        "edition": "enterprise",
        "architecture": "x64",
        "service_pack": 2,
        "roles": ["vpn_server", "dns_server"],
        "behind_nat": True,
        "installed_updates": ["KB885407", "KB123"],
    }
    assert system.derived == {}
    assert system.warnings == ()
    assert system.product_recognised


def test_edition_aliases_resolve_to_the_product_edition() -> None:
    assert normalize({"product": "windows_2000_server", "edition": "advanced_server"}).facts == {
        "product": "windows_2000_server",
        "edition": "advanced",
    }


def test_unknown_edition_of_a_known_product_is_kept_with_a_warning() -> None:
    system = normalize({"product": "windows_server_2003", "edition": "Home"})
    assert system.facts["edition"] == "home"
    assert codes(system) == [EDITION_NOT_RECOGNISED]
    assert system.product_recognised


def test_custom_facts_pass_through() -> None:
    raw = {"hostname": "srv-1", "cores": 4, "load": 0.5, "pci": None, "tags": ["a", 1, True]}
    assert normalize(raw).facts == raw


def test_an_empty_system_is_valid_and_says_nothing() -> None:
    system = normalize({})
    assert (system.facts, system.derived, system.warnings) == ({}, {}, ())


def test_the_input_is_not_modified() -> None:
    raw = {"product": "WINDOWS_XP", "roles": ["A"], "os_version": "5.1.2600"}
    normalize(raw)
    assert raw == {"product": "WINDOWS_XP", "roles": ["A"], "os_version": "5.1.2600"}


# --- unrecognised products


def test_unrecognised_product_is_a_warning_not_an_error() -> None:
    system = normalize({"product": "windows_95", "service_pack": 1})
    assert system.facts == {"product": "windows_95", "service_pack": 1}
    assert codes(system) == [PRODUCT_NOT_RECOGNISED]
    assert not system.product_recognised
    warning = system.warnings[0]
    assert warning.text("en") == "Product 'windows_95' is not recognised; no article applies."
    assert "windows_95" in warning.text("ja")
    assert warning.text("ja") != warning.text("en")


@pytest.mark.parametrize(
    "raw",
    [
        {"cpe": "cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:x64:*"},
        {"cpe": "cpe:2.3:o:acme:windows_xp:-:sp2:*:*:*:*:*:*"},
        {"os_caption": "Microsoft Windows 7 Professional"},
        {"os_version": "6.1.7601", "os_product_type": 1},
    ],
)
def test_a_cpe_or_wmi_field_naming_no_known_product_is_a_warning(raw: dict[str, Any]) -> None:
    system = normalize(raw)
    assert "product" not in system.facts
    assert codes(system) == [PRODUCT_NOT_RECOGNISED]
    assert not system.product_recognised
    assert next(iter(raw)) in system.warnings[0].text("en")


# --- CPE


@pytest.mark.parametrize(
    ("cpe", "expected"),
    [
        # both NVD spellings of Server 2003; edition in the legacy edition slot
        (
            "cpe:2.3:o:microsoft:windows_2003_server:-:sp2:enterprise:*:*:*:*:*",
            {"product": "windows_server_2003", "service_pack": 2, "edition": "enterprise"},
        ),
        (
            "cpe:2.3:o:microsoft:windows_server_2003:-:sp1:enterprise:*:*:*:*:*",
            {"product": "windows_server_2003", "service_pack": 1, "edition": "enterprise"},
        ),
        # edition in sw_edition, x64 in target_hw
        (
            "cpe:2.3:o:microsoft:windows_server_2003:-:sp2:*:*:datacenter:*:x64:*",
            {
                "product": "windows_server_2003",
                "service_pack": 2,
                "edition": "datacenter",
                "architecture": "x64",
            },
        ),
        # x64 in the legacy edition slot
        (
            "cpe:2.3:o:microsoft:windows_xp:-:sp2:x64:*:*:*:*:*",
            {"product": "windows_xp", "service_pack": 2, "architecture": "x64"},
        ),
        (
            "cpe:2.3:o:microsoft:windows_xp:-:sp2:*:*:professional:*:x64:*",
            {
                "product": "windows_xp",
                "service_pack": 2,
                "edition": "professional",
                "architecture": "x64",
            },
        ),
        (
            "cpe:2.3:o:microsoft:windows_2003_server:-:sp2:*:*:*:*:itanium:*",
            {"product": "windows_server_2003", "service_pack": 2, "architecture": "ia64"},
        ),
        (
            "cpe:2.3:o:microsoft:windows_2003_server:*:sp1:itanium:*:*:*:*:*",
            {"product": "windows_server_2003", "service_pack": 1, "architecture": "ia64"},
        ),
        # NVD's `gold` and CPE's NA (`-`) in the update slot are the original release
        (
            "cpe:2.3:o:microsoft:windows_2003_server:*:gold:enterprise:*:*:*:*:*",
            {"product": "windows_server_2003", "service_pack": 0, "edition": "enterprise"},
        ),
        (
            "cpe:2.3:o:microsoft:windows_xp:-:-:*:*:*:*:*:*",
            {"product": "windows_xp", "service_pack": 0},
        ),
        # ANY (`*`) says nothing; R2 in the update slot is not a service pack
        ("cpe:2.3:o:microsoft:windows_xp:*:*:*:*:*:*:*:*", {"product": "windows_xp"}),
        (
            "cpe:2.3:o:microsoft:windows_2003_server:*:r2:x64:*:*:*:*:*",
            {"product": "windows_server_2003", "architecture": "x64"},
        ),
        # windows_2000 is shared by Server and Professional: the edition slot decides
        (
            "cpe:2.3:o:microsoft:windows_2000:*:sp4:advanced_server:*:*:*:*:*",
            {"product": "windows_2000_server", "service_pack": 4, "edition": "advanced"},
        ),
        (
            "cpe:2.3:o:microsoft:windows_2000:*:sp4:professional:*:*:*:*:*",
            {"product": "windows_2000_professional", "service_pack": 4, "edition": "professional"},
        ),
        # case folds; escaped characters are read as themselves
        (
            "CPE:2.3:O:Microsoft:Windows_XP:-:SP3:*:*:Home:*:*:*",
            {"product": "windows_xp", "service_pack": 3, "edition": "home"},
        ),
        (
            r"cpe:2.3:o:microsoft:windows_xp:-:sp3:*:*:*:*:*:some\:thing",
            {"product": "windows_xp", "service_pack": 3},
        ),
    ],
)
def test_cpe_fills_product_service_pack_edition_and_architecture(
    cpe: str, expected: dict[str, object]
) -> None:
    system = normalize({"cpe": cpe})
    assert system.facts == {"cpe": cpe, **expected}
    assert system.derived == dict.fromkeys(expected, "cpe")
    assert system.warnings == ()


def test_a_cpe_shared_by_several_products_without_an_edition_is_ambiguous() -> None:
    system = normalize({"cpe": "cpe:2.3:o:microsoft:windows_2000:*:sp4:*:*:*:*:*:*"})
    assert "product" not in system.facts
    assert "service_pack" not in system.facts
    assert codes(system) == [PRODUCT_AMBIGUOUS]
    assert system.product_recognised  # it may be covered: facts are missing, not wrong


def test_another_source_settles_a_shared_cpe_name() -> None:
    system = normalize(
        {
            "cpe": "cpe:2.3:o:microsoft:windows_2000:*:sp4:*:*:*:*:*:*",
            "os_caption": "Microsoft Windows 2000 Server",
        }
    )
    assert system.facts["product"] == "windows_2000_server"
    assert system.derived["product"] == "os_caption"
    assert (system.facts["service_pack"], system.derived["service_pack"]) == (4, "cpe")


# --- WMI


def wmi(caption: str, version: str, csd: str | None = "", product_type: int = 3) -> dict[str, Any]:
    return {
        "os_caption": caption,
        "os_version": version,
        "csd_version": csd,
        "os_product_type": product_type,
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            wmi(SERVER_2003_ENTERPRISE, "5.2.3790", "Service Pack 2"),
            ("windows_server_2003", "enterprise", "x86", 2),
        ),
        (
            wmi(
                "Microsoft(R) Windows(R) Server 2003, Enterprise x64 Edition",
                "5.2.3790",
                "Service Pack 1",
            ),
            ("windows_server_2003", "enterprise", "x64", 1),
        ),
        (
            wmi(
                "Microsoft Windows Server 2003 R2 Standard x64 Edition",
                "5.2.3790",
                "Service Pack 2",
            ),
            ("windows_server_2003", "standard", "x64", 2),
        ),
        (
            wmi(
                "Microsoft(R) Windows(R) Server 2003, Enterprise Edition for 64-Bit Itanium-based"
                " Systems",
                "5.2.3790",
                "Service Pack 2",
                2,
            ),
            ("windows_server_2003", "enterprise", "ia64", 2),
        ),
        (
            wmi("Microsoft Windows XP Professional", "5.1.2600", "Service Pack 3", 1),
            ("windows_xp", "professional", "x86", 3),
        ),
        (
            wmi("Microsoft Windows XP Professional x64 Edition", "5.2.3790", "Service Pack 2", 1),
            ("windows_xp", "professional", "x64", 2),
        ),
        (
            wmi("Microsoft Windows 2000 Advanced Server", "5.0.2195", "Service Pack 4"),
            ("windows_2000_server", "advanced", "x86", 4),
        ),
        # empty and null CSDVersion: no service pack installed
        (
            wmi("Microsoft Windows XP Home Edition", "5.1.2600", "", 1),
            ("windows_xp", "home", "x86", 0),
        ),
        (
            wmi("Microsoft Windows XP Home Edition", "5.1.2600", None, 1),
            ("windows_xp", "home", "x86", 0),
        ),
    ],
)
def test_wmi_fields_fill_product_edition_architecture_and_service_pack(
    raw: dict[str, Any], expected: tuple[str, str, str, int]
) -> None:
    system = normalize(raw)
    facts = system.facts
    assert (
        facts["product"],
        facts["edition"],
        facts["architecture"],
        facts["service_pack"],
    ) == expected
    assert system.derived == {
        "product": "os_caption",
        "edition": "os_caption",
        "architecture": "os_caption",
        "service_pack": "csd_version",
        "product_version": "os_version",
    }
    assert facts["product_version"] == raw["os_version"][:3]
    assert {k: facts[k] for k in raw} == raw  # input-only fields are kept as given
    assert system.warnings == ()


@pytest.mark.parametrize(
    ("product_type", "product", "architecture"),
    [(1, "windows_xp", "x64"), (2, "windows_server_2003", None), (3, "windows_server_2003", None)],
)
def test_product_type_tells_xp_x64_from_server_2003_by_version(
    product_type: int, product: str, architecture: str | None
) -> None:
    system = normalize({"os_version": "5.2.3790", "os_product_type": product_type})
    assert system.facts["product"] == product
    assert system.facts.get("architecture") == architecture
    assert set(system.derived.values()) == {"os_version"}


def test_a_version_architecture_yields_to_the_caption() -> None:
    system = normalize(
        {
            "os_caption": "Microsoft Windows XP Professional 64-Bit Edition",
            "os_version": "5.2.3790",
            "os_product_type": 1,
        }
    )
    assert (system.facts["architecture"], system.derived["architecture"]) == ("ia64", "os_caption")


def test_version_5_2_without_product_type_is_ambiguous() -> None:
    system = normalize({"os_version": "5.2.3790", "csd_version": "Service Pack 2"})
    assert "product" not in system.facts
    assert codes(system) == [PRODUCT_AMBIGUOUS]
    assert "windows_server_2003, windows_xp" in system.warnings[0].text("en")
    # what does not depend on the product is still derived
    assert system.facts["service_pack"] == 2
    assert system.facts["product_version"] == "5.2"


def test_version_5_1_alone_is_windows_xp_of_unknown_architecture() -> None:
    system = normalize({"os_version": "5.1.2600"})
    assert system.facts["product"] == "windows_xp"
    assert "architecture" not in system.facts


@pytest.mark.parametrize(
    ("os_architecture", "architecture"),
    [("64-bit", "x64"), ("32-bit", "x86"), ("64 ビット", "x64"), ("Itanium-based", "ia64")],
)
def test_os_architecture(os_architecture: str, architecture: str) -> None:
    system = normalize({"os_architecture": os_architecture})
    assert system.facts["architecture"] == architecture
    assert system.derived == {"architecture": "os_architecture"}


def test_os_architecture_wins_over_the_caption_default() -> None:
    system = normalize({"os_caption": SERVER_2003_ENTERPRISE, "os_architecture": "64-bit"})
    assert (system.facts["architecture"], system.derived["architecture"]) == (
        "x64",
        "os_architecture",
    )


def test_unreadable_wmi_values_derive_nothing() -> None:
    system = normalize({"csd_version": "Beta 2", "os_architecture": "ARM 64-bit Processor"})
    assert system.derived == {}


def test_cpe_wins_over_wmi_fields() -> None:
    system = normalize(
        {
            "cpe": "cpe:2.3:o:microsoft:windows_server_2003:-:sp1:*:*:standard:*:x64:*",
            **wmi(SERVER_2003_ENTERPRISE, "5.2.3790", "Service Pack 2"),
        }
    )
    facts, derived = system.facts, system.derived
    assert (facts["edition"], facts["architecture"], facts["service_pack"]) == (
        "standard",
        "x64",
        1,
    )
    assert set(derived.values()) == {"cpe", "os_version"}


# --- given facts win


def test_given_facts_win_over_cpe_and_wmi() -> None:
    system = normalize(
        {
            "product": "windows_server_2003",
            "edition": "standard",
            "architecture": "x86",
            "service_pack": 1,
            "behind_nat": False,
            "cpe": "cpe:2.3:o:microsoft:windows_server_2003:-:sp2:*:*:enterprise:*:x64:*",
            "ip_addresses": ["10.0.0.1"],
            **wmi(
                "Microsoft Windows Server 2003 Datacenter x64 Edition", "5.2.3790", "Service Pack 2"
            ),
        }
    )
    facts = system.facts
    assert (facts["edition"], facts["architecture"], facts["service_pack"]) == (
        "standard",
        "x86",
        1,
    )
    assert facts["behind_nat"] is False
    assert system.derived == {"product_version": "os_version"}


def test_given_product_fills_gaps_from_a_matching_caption() -> None:
    system = normalize(
        {"product": "windows_xp", "os_caption": "Microsoft Windows XP Professional x64 Edition"}
    )
    assert (system.facts["edition"], system.facts["architecture"]) == ("professional", "x64")
    assert system.warnings == ()


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("os_caption", "Microsoft Windows XP Professional"),
        ("cpe", "cpe:2.3:o:microsoft:windows_xp:-:sp3:*:*:professional:*:*:*"),
    ],
)
def test_a_source_describing_another_product_is_ignored(source: str, value: str) -> None:
    system = normalize({"product": "windows_server_2003", source: value})
    assert system.facts == {"product": "windows_server_2003", source: value}
    assert system.derived == {}
    assert codes(system) == [SOURCE_IGNORED]
    assert system.product_recognised


# --- behind_nat


@pytest.mark.parametrize(
    ("addresses", "behind_nat"),
    [
        (["172.15.255.255"], False),
        (["172.16.0.0"], True),
        (["172.31.255.255"], True),
        (["172.32.0.0"], False),
        (["10.0.0.0"], True),
        (["10.255.255.255"], True),
        (["11.0.0.0"], False),
        (["9.255.255.255"], False),
        (["192.168.0.1"], True),
        (["192.168.255.255"], True),
        (["192.169.0.0"], False),
        (["192.167.255.255"], False),
        # only the three RFC 1918 ranges count
        (["100.64.0.1"], False),
        (["203.0.113.5"], False),
        # every IPv4 address must be private; IPv6 addresses do not count
        (["10.0.0.5", "192.168.1.5", "172.20.0.1"], True),
        (["10.0.0.5", "203.0.113.5"], False),
        (["fe80::1", "10.0.0.5"], True),
        (["2001:db8::1", "10.0.0.5"], True),
        # loopback, link-local and unspecified addresses say nothing about NAT
        (["127.0.0.1", "10.0.0.5"], True),
        (["169.254.1.1", "0.0.0.0", "192.168.1.10"], True),
        (["127.255.255.255", "169.254.0.0", "203.0.113.5"], False),
        (["126.255.255.255", "10.0.0.5"], False),
        (["169.253.255.255", "10.0.0.5"], False),
        (["0.0.0.1", "10.0.0.5"], False),
    ],
)
def test_behind_nat_is_derived_from_ipv4_addresses(addresses: list[str], behind_nat: bool) -> None:
    system = normalize({"ip_addresses": addresses})
    assert system.facts["behind_nat"] is behind_nat
    assert system.derived == {"behind_nat": "ip_addresses"}


@pytest.mark.parametrize(
    "addresses",
    [
        [],
        ["fe80::1"],
        ["2001:db8::1", "::ffff:10.0.0.1"],
        ["127.0.0.1"],
        ["169.254.1.1", "::1"],
        ["0.0.0.0", "127.0.1.1", "fe80::1"],
    ],
)
def test_behind_nat_is_not_derived_without_ipv4(addresses: list[str]) -> None:
    system = normalize({"ip_addresses": addresses})
    assert "behind_nat" not in system.facts
    assert system.derived == {}


@given(
    st.lists(st.ip_addresses(v=4), min_size=1, max_size=5),
    st.lists(st.ip_addresses(v=6), max_size=3),
)
def test_behind_nat_agrees_with_ipaddress(
    ipv4: list[ipaddress.IPv4Address], ipv6: list[ipaddress.IPv6Address]
) -> None:
    private = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    counted = [ip for ip in ipv4 if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified)]
    system = normalize({"ip_addresses": [str(ip) for ip in ipv6 + ipv4]})
    if not counted:
        assert "behind_nat" not in system.facts
    else:
        expected = all(any(ip in net for net in private) for ip in counted)
        assert system.facts["behind_nat"] is expected


# --- validation errors


@pytest.mark.parametrize(
    ("raw", "paths"),
    [
        ({"service_pack": "abc"}, ["service_pack"]),
        ({"service_pack": -1}, ["service_pack"]),
        ({"service_pack": True}, ["service_pack"]),
        ({"service_pack": 2.0}, ["service_pack"]),
        ({"product": 5}, ["product"]),
        ({"product": ""}, ["product"]),
        ({"edition": None}, ["edition"]),
        ({"architecture": "arm64"}, ["architecture"]),
        ({"architecture": " "}, ["architecture"]),
        ({"roles": "vpn_server"}, ["roles"]),
        ({"roles": ["vpn_server", 3, ""]}, ["roles.1", "roles.2"]),
        ({"behind_nat": "yes"}, ["behind_nat"]),
        ({"behind_nat": 1}, ["behind_nat"]),
        (
            {"ip_addresses": ["10.0.0.1", "10.0.0.256", "bogus"]},
            ["ip_addresses.1", "ip_addresses.2"],
        ),
        ({"ip_addresses": ["010.0.0.1"]}, ["ip_addresses.0"]),
        ({"ip_addresses": [" 10.0.0.1"]}, ["ip_addresses.0"]),
        ({"ip_addresses": "10.0.0.1"}, ["ip_addresses"]),
        (
            {"installed_updates": ["KB885407", "Q885407", 885407]},
            ["installed_updates.1", "installed_updates.2"],
        ),
        ({"installed_updates": ["KB1,KB2"]}, ["installed_updates.0"]),
        ({"installed_updates": "KB885407"}, ["installed_updates"]),
        ({"cpe": "cpe:/o:microsoft:windows_xp::sp2"}, ["cpe"]),
        ({"cpe": "cpe:2.3:o:microsoft:windows_xp:-:sp2"}, ["cpe"]),
        ({"cpe": "cpe:2.3:o:microsoft:windows xp:-:sp2:*:*:*:*:*:*"}, ["cpe"]),
        ({"cpe": "cpe:2.3:x:microsoft:windows_xp:-:sp2:*:*:*:*:*:*"}, ["cpe"]),
        ({"cpe": 7}, ["cpe"]),
        ({"os_caption": 7}, ["os_caption"]),
        ({"os_version": "five"}, ["os_version"]),
        ({"os_version": "5.2."}, ["os_version"]),
        ({"csd_version": 2}, ["csd_version"]),
        ({"os_product_type": 4}, ["os_product_type"]),
        ({"os_product_type": "3"}, ["os_product_type"]),
        ({"os_product_type": True}, ["os_product_type"]),
        ({"host": {"name": "x"}}, ["host"]),
        ({"tags": ["a", ["b"], {"c": 1}]}, ["tags.1", "tags.2"]),
        ({"load": math.nan}, ["load"]),
        ({"service_pack": -1, "roles": [1], "product": "windows_xp"}, ["service_pack", "roles.0"]),
    ],
)
def test_validation_errors_name_each_field_path(raw: dict[str, Any], paths: list[str]) -> None:
    errors = errors_of(raw)
    assert sorted(errors) == sorted(paths)
    assert all(
        messages and all(isinstance(m, str) for m in messages) for messages in errors.values()
    )


@pytest.mark.parametrize("raw", [None, [], "system", 3, [{"product": "windows_xp"}]])
def test_a_system_that_is_not_an_object_is_an_error(raw: object) -> None:
    assert errors_of(raw) == {"": ["must be a JSON object"]}


def test_error_messages_say_what_is_expected() -> None:
    errors = errors_of({"service_pack": -1, "architecture": "arm", "installed_updates": ["x"]})
    assert errors["service_pack"] == ["must be an integer greater than or equal to 0"]
    assert errors["architecture"] == ["must be one of ia64, x64, x86"]
    assert errors["installed_updates.0"] == ["must be a KB number such as KB885407"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
FIELDS = st.sampled_from(
    ["product", "edition", "architecture", "service_pack", "roles", "behind_nat", "ip_addresses",
     "installed_updates", "cpe", "os_caption", "os_version", "csd_version", "os_architecture",
     "os_product_type", "inventory", "custom"]
)  # fmt: skip


@given(st.dictionaries(FIELDS, JSON, max_size=6))
def test_any_json_input_either_normalizes_or_raises_a_validation_error(raw: dict[str, Any]) -> None:
    try:
        system = normalize(raw)
    except FactsValidationError as error:
        assert error.errors
        assert all(path.split(".")[0] in raw for path in error.errors)
    else:
        assert set(system.derived) <= set(system.facts)
        assert all(system.facts[key] is not None for key in system.derived)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "product": st.sampled_from(["windows_xp", "Windows_Server_2003", "windows_95"]),
            "edition": st.sampled_from(["Professional", "enterprise", "advanced_server"]),
            "architecture": st.sampled_from(["x86", "AMD64", "itanium"]),
            "service_pack": st.integers(0, 4),
            "roles": st.lists(st.sampled_from(["VPN_server", "dns_server"])),
            "ip_addresses": st.lists(st.ip_addresses(v=4).map(str), max_size=3),
            "installed_updates": st.lists(st.sampled_from(["kb1", "2", "KB3"])),
        },
    )
)
def test_normalizing_normalized_facts_changes_nothing(raw: dict[str, Any]) -> None:
    once = normalize(raw).facts
    assert normalize(once).facts == once


# --- inventory


def test_inventory_fills_the_facts_it_holds_and_names_its_source() -> None:
    system = normalize({"inventory": {"format": "systeminfo", "data": SYSTEMINFO_EN}})
    assert system.facts == {
        "inventory": {"format": "systeminfo", "data": SYSTEMINFO_EN},
        "product": "windows_server_2003",
        "edition": "enterprise",
        "architecture": "x86",
        "service_pack": 2,
        "product_version": "5.2",
        "ip_addresses": ["192.168.1.10"],
        "installed_updates": ["KB147222", "KB885407"],
        "behind_nat": True,
    }
    assert system.derived == {
        **dict.fromkeys(
            ["product", "edition", "architecture", "service_pack", "product_version"], "inventory"
        ),
        "ip_addresses": "inventory",
        "installed_updates": "inventory",
        "behind_nat": "ip_addresses",
    }
    assert system.warnings == ()


def test_explicit_facts_win_over_the_inventory() -> None:
    inventory = {"format": "salt", "data": SALT}
    given = {
        "edition": "standard",
        "service_pack": 1,
        "architecture": "x64",
        "ip_addresses": ["203.0.113.5"],
        "installed_updates": ["KB1"],
        "inventory": inventory,
    }
    system = normalize(given)
    assert {k: system.facts[k] for k in given if k != "inventory"} == {
        **{k: v for k, v in given.items() if k != "inventory"},
        "installed_updates": ["KB1"],
    }
    assert system.facts["product"] == "windows_server_2003"
    assert system.facts["behind_nat"] is False  # from the given, public address
    assert system.derived == {
        "product": "inventory",
        "product_version": "inventory",
        "behind_nat": "ip_addresses",
    }


def test_an_inventory_of_another_product_than_the_one_given_is_not_used() -> None:
    system = normalize({"product": "windows_xp", "inventory": {"format": "wmi", "data": WMI}})
    assert system.facts["product"] == "windows_xp"
    assert "edition" not in system.facts and "service_pack" not in system.facts
    assert codes(system) == [SOURCE_IGNORED]


def test_a_cpe_names_the_product_before_the_inventory() -> None:
    cpe = "cpe:2.3:o:microsoft:windows_server_2003:-:sp1:*:*:standard:*:x86:*"
    system = normalize({"cpe": cpe, "inventory": {"format": "wmi", "data": WMI}})
    assert system.facts["service_pack"] == 1 and system.facts["edition"] == "standard"
    assert system.derived["product"] == "cpe"


def test_an_operating_system_the_catalog_lacks_is_a_warning_not_an_error() -> None:
    linux = {"ansible_os_name": "Ubuntu 22.04.4 LTS", "ansible_distribution_version": "22.04"}
    system = normalize({"inventory": {"format": "ansible", "data": linux}})
    assert codes(system) == [PRODUCT_NOT_RECOGNISED]
    assert not system.product_recognised
    assert "Ubuntu 22.04.4 LTS" in system.warnings[0].text("en")


def test_a_version_shared_by_two_products_is_ambiguous_without_a_product_type() -> None:
    system = normalize({"inventory": {"format": "wmi", "data": {"Version": "5.2.3790"}}})
    assert codes(system) == [PRODUCT_AMBIGUOUS]
    server = normalize(
        {"inventory": {"format": "wmi", "data": {"Version": "5.2.3790", "ProductType": 3}}}
    )
    assert server.facts["product"] == "windows_server_2003"


@pytest.mark.parametrize(
    ("inventory", "path"),
    [
        ("systeminfo", "inventory"),
        ({"format": "sccm", "data": "x"}, "inventory.format"),
        ({"format": "wmi", "data": "Caption: Windows"}, "inventory.data"),
        ({"format": "systeminfo", "data": "no system here"}, "inventory.data"),
        (
            {
                "format": "osquery",
                "data": {
                    "os_version": [{"name": "Windows"}],
                    "patches": [{"hotfix_id": f"KB{n}"} for n in range(MAX_FACT_ITEMS + 1)],
                },
            },
            "inventory.data",
        ),
    ],
)
def test_bad_inventory_is_an_error_naming_format_or_data(inventory: object, path: str) -> None:
    assert list(errors_of({"product": "windows_xp", "inventory": inventory})) == [path]


@given(
    st.sampled_from(["systeminfo", "wmi", "ansible", "salt", "osquery"]),
    JSON | st.text(max_size=200),
)
def test_any_inventory_data_normalizes_or_raises_a_validation_error(fmt: str, data: Any) -> None:
    try:
        system = normalize({"inventory": {"format": fmt, "data": data}})
    except FactsValidationError as error:
        assert list(error.errors) == ["inventory.data"]
    else:
        assert set(system.derived) <= set(system.facts)
