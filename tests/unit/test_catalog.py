"""The product catalog: seed data, dict loading, lookups, labels and lifecycle notices."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kbservice.catalog.products import Catalog, CatalogError, alias_key, load_catalog_file

SEED = Path(__file__).resolve().parents[2] / "seeds" / "products.yaml"
CATALOG = load_catalog_file(SEED)
D = dt.date


def seed_products() -> list[dict[str, Any]]:
    """The seed's products as the database returns them: JSON, dates as ISO text, no sharing."""
    products = yaml.safe_load(SEED.read_text(encoding="utf-8"))["products"]
    return json.loads(json.dumps(products, default=dt.date.isoformat))


def product(product_id: str) -> Any:
    found = CATALOG.get(product_id)
    assert found is not None, product_id
    return found


# --- seed data


def test_seed_products_in_file_order() -> None:
    assert [p.id for p in CATALOG.products] == [
        "windows_server_2003",
        "windows_xp",
        "windows_2000_server",
        "windows_2000_professional",
    ]


@pytest.mark.parametrize(
    ("product_id", "mainstream_end", "extended_end", "service_packs"),
    [
        (
            "windows_server_2003",
            D(2010, 7, 13),
            D(2015, 7, 14),
            {0: D(2007, 4, 10), 1: D(2009, 4, 14), 2: D(2015, 7, 14)},
        ),
        (
            "windows_xp",
            D(2009, 4, 14),
            D(2014, 4, 8),
            {0: D(2004, 9, 30), 1: D(2006, 10, 10), 2: D(2010, 7, 13), 3: D(2014, 4, 8)},
        ),
        (
            "windows_2000_server",
            D(2005, 6, 30),
            D(2010, 7, 13),
            {0: None, 1: None, 2: None, 3: D(2005, 6, 30), 4: D(2010, 7, 13)},
        ),
        (
            "windows_2000_professional",
            D(2005, 6, 30),
            D(2010, 7, 13),
            {0: None, 1: None, 2: None, 3: D(2005, 6, 30), 4: D(2010, 7, 13)},
        ),
    ],
)
def test_lifecycle_dates(
    product_id: str,
    mainstream_end: dt.date,
    extended_end: dt.date,
    service_packs: dict[int, dt.date | None],
) -> None:
    found = product(product_id)
    assert found.mainstream_end == mainstream_end
    assert found.extended_end == extended_end
    assert {sp.number: sp.end_of_support for sp in found.service_packs} == service_packs


@pytest.mark.parametrize(
    ("product_id", "version", "kind", "editions", "architectures"),
    [
        (
            "windows_server_2003",
            "5.2",
            "server",
            ["standard", "enterprise", "datacenter", "web"],
            ("x86", "x64", "ia64"),
        ),
        (
            "windows_xp",
            "5.1",
            "workstation",
            ["home", "professional", "media_center", "tablet_pc", "starter"],
            ("x86", "x64", "ia64"),
        ),
        ("windows_2000_server", "5.0", "server", ["standard", "advanced", "datacenter"], ("x86",)),
    ],
)
def test_product_shape(
    product_id: str, version: str, kind: str, editions: list[str], architectures: tuple[str, ...]
) -> None:
    found = product(product_id)
    assert (found.version, found.kind) == (version, kind)
    assert [e.id for e in found.editions] == editions
    assert found.architectures == architectures
    assert set(found.names) == set(found.short_names) == {"en", "ja"}


def test_unknown_product_is_none() -> None:
    assert CATALOG.get("windows_95") is None


# --- from_dicts


def test_from_dicts_accepts_iso_date_strings_as_the_database_returns_them() -> None:
    products = seed_products()
    assert products[0]["extended_end"] == "2015-07-14"
    assert Catalog.from_dicts(products).products == CATALOG.products


def _broken(change: Any) -> list[dict[str, Any]]:
    products = seed_products()
    change(products)
    return products


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda ps: ps[0].pop("extended_end"), r"products\[0\]\.extended_end"),
        (lambda ps: ps[0].update(extended_end="2015-13-01"), r"extended_end"),
        (lambda ps: ps[0].update(extended_end=dt.datetime(2015, 7, 14)), r"extended_end"),
        (lambda ps: ps[1].update(kind="desktop"), r"products\[1\]\.kind"),
        (lambda ps: ps[0].update(version=5.2), r"version: expected str"),
        (lambda ps: ps[0]["names"].pop("ja"), r"products\[0\]\.names"),
        (lambda ps: ps[0]["service_packs"][1].update(number=True), r"service_packs\[1\]\.number"),
        (lambda ps: ps.append(ps[0]), r"duplicate id"),
        (lambda ps: ps[0]["editions"][0].update(aliases=["enterprise"]), r"alias 'enterprise'"),
        (lambda ps: ps[0]["aliases"].update(cpe=["microsoft:windows"]), r"cpe alias"),
        (
            lambda ps: ps[2]["aliases"].update(wmi_version_architectures={"5.0": "x64"}),
            r"wmi_version_architectures 5.0: x64",
        ),
        (
            lambda ps: ps[1]["aliases"].update(wmi_version_architectures={"6.0": "x64"}),
            r"wmi_version_architectures 6.0",
        ),
        (
            lambda ps: ps[2]["architectures"][0].update(names={"en": "x", "ja": "x"}),
            r"architecture x86: defined differently",
        ),
    ],
)
def test_from_dicts_rejects_malformed_data(change: Any, message: str) -> None:
    products = _broken(change)
    with pytest.raises(CatalogError, match=message):
        Catalog.from_dicts(products)


def test_from_dicts_rejects_a_non_list() -> None:
    with pytest.raises(CatalogError):
        Catalog.from_dicts({"products": []})  # type: ignore[arg-type]


# --- labels


@pytest.mark.parametrize(
    ("product_id", "edition", "architecture", "locale", "label"),
    [
        (
            "windows_server_2003",
            "enterprise",
            "x86",
            "en",
            "Microsoft Windows Server 2003, Enterprise Edition (32-bit x86)",
        ),
        (
            "windows_server_2003",
            "standard",
            "x86",
            "ja",
            "Microsoft Windows Server 2003, Standard Edition (32-bit x86)",
        ),
        (
            "windows_server_2003",
            "datacenter",
            "ia64",
            "en",
            "Microsoft Windows Server 2003, Datacenter Edition (Itanium)",
        ),
        ("windows_xp", "professional", "x64", "en", "Microsoft Windows XP Professional (x64)"),
        ("windows_2000_server", "advanced", None, "en", "Microsoft Windows 2000 Advanced Server"),
        ("windows_xp", None, None, "ja", "Microsoft Windows XP"),
        ("windows_xp", None, "x86", "fr", "Microsoft Windows XP (32-bit x86)"),
        # display only: ids the catalog lacks are shown as given, never an error
        ("windows_xp", "ultimate", "arm64", "en", "Microsoft Windows XP ultimate (arm64)"),
    ],
)
def test_label(
    product_id: str, edition: str | None, architecture: str | None, locale: str, label: str
) -> None:
    assert product(product_id).label(edition, architecture, locale) == label


# --- lifecycle notices


def test_end_of_support_notice_in_both_locales() -> None:
    notices = product("windows_server_2003").lifecycle_notices(D(2025, 1, 1))
    assert len(notices) == 1
    (notice,) = notices
    assert (notice.kind, notice.date) == ("end_of_support", D(2015, 7, 14))
    assert (
        notice.text("ja") == "Windows Server 2003 のサポートは 2015 年 7 月 14 日で終了しています"
    )
    assert notice.text("en") == "Support for Windows Server 2003 ended on July 14, 2015."
    assert notice.text("ja-JP") == notice.text("ja")
    assert notice.text("fr") == notice.text("en")


def test_support_lasts_through_its_last_day() -> None:
    server = product("windows_server_2003")
    assert [n.kind for n in server.lifecycle_notices(D(2015, 7, 14))] == [
        "end_of_mainstream_support"
    ]
    assert [n.kind for n in server.lifecycle_notices(D(2015, 7, 15))] == ["end_of_support"]
    assert server.lifecycle_notices(D(2010, 7, 13)) == []


def test_mainstream_notice_names_the_extended_end() -> None:
    (notice,) = product("windows_xp").lifecycle_notices(D(2012, 1, 1))
    assert notice.kind == "end_of_mainstream_support"
    assert notice.date == D(2009, 4, 14)
    assert notice.text("en") == (
        "Mainstream support for Windows XP ended on April 14, 2009; "
        "extended support ends on April 8, 2014."
    )
    assert "2009 年 4 月 14 日" in notice.text("ja")
    assert "2014 年 4 月 8 日" in notice.text("ja")


def test_service_pack_notice_while_the_product_is_supported() -> None:
    xp = product("windows_xp")
    kinds = [n.kind for n in xp.lifecycle_notices(D(2011, 1, 1), service_pack=2)]
    assert kinds == ["service_pack_end_of_support", "end_of_mainstream_support"]
    notice = xp.lifecycle_notices(D(2011, 1, 1), service_pack=2)[0]
    assert notice.date == D(2010, 7, 13)
    assert notice.text("en") == "Support for Windows XP Service Pack 2 ended on July 13, 2010."
    assert (
        notice.text("ja")
        == "Windows XP Service Pack 2 のサポートは 2010 年 7 月 13 日で終了しています"
    )
    assert [n.kind for n in xp.lifecycle_notices(D(2011, 1, 1), service_pack=3)] == [
        "end_of_mainstream_support"
    ]


def test_rtm_notice_and_the_product_end_covering_every_service_pack() -> None:
    server = product("windows_server_2003")
    (rtm,) = server.lifecycle_notices(D(2008, 1, 1), service_pack=0)
    assert (rtm.kind, rtm.date) == ("service_pack_end_of_support", D(2007, 4, 10))
    assert rtm.text("en") == "Support for Windows Server 2003 RTM ended on April 10, 2007."
    assert [n.kind for n in server.lifecycle_notices(D(2020, 1, 1), service_pack=1)] == [
        "end_of_support"
    ]


def test_no_service_pack_notice_without_a_date_or_for_an_unknown_level() -> None:
    w2k = product("windows_2000_server")
    assert [n.kind for n in w2k.lifecycle_notices(D(2008, 1, 1), service_pack=1)] == [
        "end_of_mainstream_support"
    ]
    assert [n.kind for n in w2k.lifecycle_notices(D(2008, 1, 1), service_pack=9)] == [
        "end_of_mainstream_support"
    ]


# --- recognition lookups


SERVER_2003 = "Microsoft(R) Windows(R) Server 2003"


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("Microsoft Windows Server 2003 Enterprise Edition", "windows_server_2003 enterprise x86"),
        ("MICROSOFT WINDOWS SERVER 2003 ENTERPRISE EDITION", "windows_server_2003 enterprise x86"),
        (f"{SERVER_2003}, Enterprise x64 Edition", "windows_server_2003 enterprise x64"),
        (
            "Microsoft Windows Server 2003 R2 Standard x64 Edition",
            "windows_server_2003 standard x64",
        ),
        (
            f"{SERVER_2003}, Datacenter Edition for 64-Bit Itanium-based Systems",
            "windows_server_2003 datacenter ia64",
        ),
        ("Microsoft Windows Server 2003 Web Edition", "windows_server_2003 web x86"),
        ("Microsoft Windows Server 2003 for Small Business Server", "windows_server_2003 - x86"),
        ("Microsoft Windows XP Professional", "windows_xp professional x86"),
        ("Microsoft Windows XP Professional x64 Edition", "windows_xp professional x64"),
        ("Microsoft Windows XP Professional 64-Bit Edition", "windows_xp professional ia64"),
        ("Microsoft Windows XP Home Edition", "windows_xp home x86"),
        ("Microsoft Windows XP Media Center Edition", "windows_xp media_center x86"),
        ("Microsoft Windows 2000 Server", "windows_2000_server standard x86"),
        ("Microsoft Windows 2000 Advanced Server", "windows_2000_server advanced x86"),
        ("Microsoft Windows 2000 Datacenter Server", "windows_2000_server datacenter x86"),
        ("Microsoft Windows 2000 Professional", "windows_2000_professional professional x86"),
    ],
)
def test_match_caption(caption: str, expected: str) -> None:
    match = CATALOG.match_caption(caption)
    assert match is not None
    assert f"{match.product.id} {match.edition or '-'} {match.architecture}" == expected


def test_the_longest_caption_phrase_wins_whatever_the_data_order() -> None:
    products = seed_products()
    products[2]["editions"].reverse()  # "server" (standard) now after "advanced server"
    match = Catalog.from_dicts(products).match_caption("Microsoft Windows 2000 Advanced Server")
    assert match is not None
    assert match.edition == "advanced"


@pytest.mark.parametrize(
    "caption",
    [
        "Microsoft Windows 7 Professional",
        "Microsoft Windows Server 2008 R2 Standard",
        "",
        "Windows",
    ],
)
def test_match_caption_unknown(caption: str) -> None:
    assert CATALOG.match_caption(caption) is None


@pytest.mark.parametrize(
    ("value", "architecture"),
    [
        ("x86", "x86"),
        ("X86", "x86"),
        ("32-bit", "x86"),
        ("32 ビット", "x86"),
        ("x32", "x86"),
        ("x64", "x64"),
        ("AMD64", "x64"),
        ("x86_64", "x64"),
        ("x86-64", "x64"),
        ("64-bit", "x64"),
        ("64 ビット", "x64"),
        ("ia64", "ia64"),
        ("Itanium", "ia64"),
        ("arm64", None),
        ("", None),
        (None, None),
    ],
)
def test_architecture_for(value: str | None, architecture: str | None) -> None:
    assert CATALOG.architecture_for(value) == architecture


def test_architecture_ids() -> None:
    assert CATALOG.architecture_ids == ("ia64", "x64", "x86")


@pytest.mark.parametrize(
    ("product_id", "value", "edition"),
    [
        ("windows_server_2003", "Enterprise", "enterprise"),
        ("windows_xp", "media_center", "media_center"),
        ("windows_xp", "Media Center", "media_center"),
        ("windows_2000_server", "advanced_server", "advanced"),
        ("windows_2000_server", "server", "standard"),
        ("windows_server_2003", "home", None),
        ("windows_server_2003", None, None),
    ],
)
def test_edition_for(product_id: str, value: str | None, edition: str | None) -> None:
    assert CATALOG.edition_for(product(product_id), value) == edition


@pytest.mark.parametrize(
    ("name", "hints", "expected"),
    [
        ("windows_server_2003", (), ["windows_server_2003"]),
        ("windows_2003_server", (), ["windows_server_2003"]),
        ("windows_xp", (), ["windows_xp"]),
        ("windows_2000", ("advanced_server",), ["windows_2000_server"]),
        ("windows_2000", ("professional",), ["windows_2000_professional"]),
        ("windows_2000", (None, "pro"), ["windows_2000_professional"]),
        ("windows_2000", (), ["windows_2000_server", "windows_2000_professional"]),
        ("windows_7", (), []),
    ],
)
def test_products_for_cpe(name: str, hints: tuple[str | None, ...], expected: list[str]) -> None:
    found = CATALOG.products_for_cpe("o", "microsoft", name, hints)
    assert [p.id for p in found] == expected


def test_products_for_cpe_needs_the_vendor_and_part() -> None:
    assert CATALOG.products_for_cpe("o", "acme", "windows_xp") == ()
    assert CATALOG.products_for_cpe("a", "microsoft", "windows_xp") == ()


def test_version_architectures() -> None:
    assert product("windows_xp").version_architectures == {"5.2": "x64"}
    assert product("windows_server_2003").version_architectures == {}


@pytest.mark.parametrize(
    ("version", "product_type", "expected"),
    [
        ("5.2.3790", 1, ["windows_xp"]),
        ("5.2.3790", 2, ["windows_server_2003"]),
        ("5.2.3790", 3, ["windows_server_2003"]),
        ("5.2.3790", None, ["windows_server_2003", "windows_xp"]),
        ("5.1.2600", None, ["windows_xp"]),
        ("5.1.2600", 3, []),
        ("5.0.2195", 1, ["windows_2000_professional"]),
        ("6.1.7601", None, []),
    ],
)
def test_products_for_version(version: str, product_type: int | None, expected: list[str]) -> None:
    assert [p.id for p in CATALOG.products_for_version(version, product_type)] == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            "Microsoft(R) Windows(R) Server 2003, Enterprise x64 Edition",
            "microsoft windows server 2003 enterprise x64 edition",
        ),
        ("Microsoft® Windows Vista™ Business", "microsoft windows vista business"),
        ("advanced_server", "advanced server"),
        ("  64-bit ", "64 bit"),
    ],
)
def test_alias_key(text: str, key: str) -> None:
    assert alias_key(text) == key


@given(st.text())
def test_alias_key_is_idempotent(text: str) -> None:
    assert alias_key(alias_key(text)) == alias_key(text)
