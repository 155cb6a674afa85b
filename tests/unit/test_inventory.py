"""Reading inventory tools' output: real-shaped samples, damaged pastes, no other exception."""

from __future__ import annotations

import contextlib
import gc
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbservice.inventory import FORMATS, Inventory, InventoryError, detect_format, read_inventory
from tests.inventory_samples import (
    ADDRESS,
    ANSIBLE,
    CAPTION,
    OSQUERY,
    SALT,
    SAME_MACHINE,
    SYSTEMINFO_CSV,
    SYSTEMINFO_EN,
    SYSTEMINFO_EN_LINES,
    SYSTEMINFO_JA,
    WMI,
    crlf,
)


def read(fmt: str, data: object) -> Inventory:
    return read_inventory({"format": fmt, "data": data})


def error_of(value: object) -> tuple[str, str]:
    with pytest.raises(InventoryError) as caught:
        read_inventory(value)
    return caught.value.field, caught.value.message


@pytest.mark.parametrize(("name", "fmt", "data"), SAME_MACHINE, ids=[s[0] for s in SAME_MACHINE])
def test_every_format_names_the_same_system(name: str, fmt: str, data: object) -> None:
    inventory = read(fmt, data)
    assert inventory.caption == CAPTION
    assert inventory.version == "5.2.3790"
    assert inventory.service_pack == 2
    if fmt != "wmi":  # Win32_OperatingSystem holds no addresses
        assert ADDRESS in inventory.ip_addresses


@pytest.mark.parametrize("data", [SYSTEMINFO_EN, SYSTEMINFO_JA, SYSTEMINFO_CSV])
def test_systeminfo_reads_type_configuration_updates_and_addresses(data: str) -> None:
    assert read("systeminfo", data) == Inventory(
        caption=CAPTION,
        version="5.2.3790",
        service_pack=2,
        architecture="X86",
        product_type=3,
        ip_addresses=(ADDRESS,),
        installed_updates=("KB147222", "KB885407"),
    )


@pytest.mark.parametrize(
    "text",
    [
        SYSTEMINFO_EN.replace("\r\n", "\n"),  # pasted through a Unix tool
        SYSTEMINFO_EN.replace("\r\n", "\r"),
        SYSTEMINFO_EN.replace("\r\n", "\r\r\n"),  # redirected twice
        SYSTEMINFO_EN.replace("                 ", "\t"),  # padding turned into tabs
        "\ufeff" + SYSTEMINFO_EN,  # a byte order mark from a saved file
    ],
)
def test_line_endings_and_padding_do_not_matter(text: str) -> None:
    assert read("systeminfo", text) == read("systeminfo", SYSTEMINFO_EN)


def test_unknown_labels_are_recognised_by_their_values() -> None:
    # A German Windows: no label is known, the version line and the line before it are.
    german = crlf(
        [
            "Hostname:                                  SRV01",
            f"Betriebssystemname:                        {CAPTION}",
            "Betriebssystemversion:                     5.2.3790 Service Pack 2 Build 3790",
            "Betriebssystemhersteller:                  Microsoft Corporation",
            "Systemtyp:                                 X86-based PC",
            "Hotfix(es):                                1 Hotfix(e) installiert.",
            "                                           [01]: KB885407",
        ]
    )
    inventory = read("systeminfo", german)
    assert (inventory.caption, inventory.version, inventory.service_pack) == (
        CAPTION,
        "5.2.3790",
        2,
    )
    assert inventory.architecture == "X86"
    assert inventory.installed_updates == ("KB885407",)


def test_a_full_width_colon_ends_a_label() -> None:
    text = crlf([f"OS 名：   {CAPTION}", "OS バージョン：   5.2.3790 N/A ビルド 3790"])
    inventory = read("systeminfo", text)
    assert (inventory.caption, inventory.version, inventory.service_pack) == (
        CAPTION,
        "5.2.3790",
        0,
    )


def test_a_system_without_a_service_pack_prints_n_a() -> None:
    text = SYSTEMINFO_EN.replace("5.2.3790 Service Pack 2 Build 3790", "5.2.3790 N/A Build 3790")
    assert read("systeminfo", text).service_pack == 0


@pytest.mark.parametrize("cut", [200, 900, 1400, 2000, len(SYSTEMINFO_EN) - 5])
def test_a_truncated_paste_gives_what_it_holds(cut: int) -> None:
    inventory = read("systeminfo", SYSTEMINFO_EN[:cut])
    assert inventory.caption == CAPTION
    assert inventory.version == "5.2.3790"


def test_a_paste_cut_before_the_version_names_no_system() -> None:
    text = crlf(SYSTEMINFO_EN_LINES[:2])  # the host name only
    assert error_of({"format": "systeminfo", "data": text})[0] == "data"


@pytest.mark.parametrize("cut", [100, 300, 500])
def test_a_truncated_csv_paste_gives_what_it_holds(cut: int) -> None:
    # Cut within the row of values, past the OS version, in or after a quoted value.
    values_start = SYSTEMINFO_CSV.index('"SRV01"')
    inventory = read("systeminfo", SYSTEMINFO_CSV[: values_start + cut])
    assert inventory.caption == CAPTION
    assert inventory.version == "5.2.3790"


def test_csv_without_a_header_line_is_read_by_its_values() -> None:
    values_only = SYSTEMINFO_CSV.strip().splitlines()[-1]
    inventory = read("systeminfo", values_only)
    assert (inventory.caption, inventory.version, inventory.architecture) == (
        CAPTION,
        "5.2.3790",
        "X86",
    )
    assert inventory.installed_updates == ("KB147222", "KB885407")


def test_wmi_reads_a_null_csdversion_as_no_service_pack() -> None:
    rtm = {**WMI, "CSDVersion": None}
    del rtm["ServicePackMajorVersion"]
    assert read("wmi", rtm).service_pack == 0
    assert read("wmi", {"caption": CAPTION, "osarchitecture": "64 ビット"}).architecture == (
        "64 ビット"
    )
    assert read("wmi", {"Caption": CAPTION}).service_pack is None  # not sent: not known


def test_ansible_reads_the_service_pack_from_the_revision_and_the_bare_facts() -> None:
    bare = {key.removeprefix("ansible_"): value for key, value in ANSIBLE["ansible_facts"].items()}
    assert read("ansible", bare) == read("ansible", ANSIBLE)
    assert read("ansible", ANSIBLE).product_type == 3
    sp0 = {"ansible_os_name": CAPTION, "ansible_distribution_version": "5.2.3790.0"}
    assert read("ansible", sp0).service_pack == 0
    assert read("ansible", {"ansible_os_name": CAPTION}).service_pack is None


def test_salt_reads_grains_under_a_minion_id_or_bare() -> None:
    grains = SALT["local"]
    assert read("salt", {"srv01.contoso.local": grains}) == read("salt", SALT)
    assert read("salt", grains) == read("salt", SALT)
    assert read("salt", {**grains, "osservicepack": None}).service_pack == 0


def test_osquery_reads_patches_and_without_the_registry_no_service_pack() -> None:
    inventory = read("osquery", OSQUERY)
    assert inventory.installed_updates == ("KB885407", "KB147222")
    assert read("osquery", {"os_version": OSQUERY["os_version"]}).service_pack is None
    assert read("osquery", {"os_version": OSQUERY["os_version"][0]}).caption == CAPTION


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("systeminfo", ""),
        ({"format": "sccm", "data": "x"}, "format"),
        ({"format": None, "data": "x"}, "format"),
        ({"format": ["wmi"], "data": {}}, "format"),
        ({"data": SYSTEMINFO_EN}, "format"),
        ({"format": "systeminfo"}, "data"),
        ({"format": "systeminfo", "data": {"OS Name": CAPTION}}, "data"),
        ({"format": "systeminfo", "data": ""}, "data"),
        ({"format": "systeminfo", "data": "hello\r\nworld\r\n"}, "data"),
        ({"format": "wmi", "data": json.dumps(WMI)}, "data"),
        ({"format": "wmi", "data": [WMI]}, "data"),
        ({"format": "wmi", "data": {"Caption": 5, "Version": None}}, "data"),
        ({"format": "ansible", "data": {"ansible_facts": {}}}, "data"),
        ({"format": "salt", "data": {"local": {"os": "Windows"}}}, "data"),
        ({"format": "osquery", "data": {"os_version": "Windows"}}, "data"),
        ({"format": "osquery", "data": {"patches": OSQUERY["patches"]}}, "data"),
    ],
)
def test_bad_inventory_names_format_or_data(value: object, field: str) -> None:
    assert error_of(value)[0] == field


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (SYSTEMINFO_EN, "systeminfo"),
        (SYSTEMINFO_CSV, "systeminfo"),
        (WMI, "wmi"),
        (ANSIBLE, "ansible"),
        (ANSIBLE["ansible_facts"], "ansible"),
        (SALT, "salt"),
        (SALT["local"], "salt"),
        (OSQUERY, "osquery"),
        ({"Caption": CAPTION, "osfullname": CAPTION}, None),  # two formats' keys
        ({"hello": "world"}, None),
        ([WMI], None),
    ],
)
def test_detect_format_answers_only_when_it_is_clear(data: object, fmt: str | None) -> None:
    assert detect_format(data) == fmt


# --- nothing but InventoryError, in time linear in the input

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# Text built from the pieces the systeminfo reader looks for.
PIECES = st.sampled_from(
    [":", "：", "[", "]", "]:", "[01]: ", '"', ",", "\r\n", "\n", "\r", " ", "\t", "OS Name",
     "OS バージョン", "5.2.3790", " Build 3790", "Service Pack ", "KB", "Q", "-based PC",
     "192.168.1.1", "::1", "Server", "\ufeff", "\x00"]
)  # fmt: skip
SYSTEMINFO_LIKE = st.lists(PIECES | st.text(max_size=8), max_size=60).map("".join)


def _read_or_refuse(value: object) -> None:
    try:
        inventory = read_inventory(value)
    except InventoryError:
        return
    assert inventory.names_a_system


@given(st.sampled_from(sorted(FORMATS)), JSON | SYSTEMINFO_LIKE)
@settings(max_examples=400, deadline=None)
def test_any_data_is_read_or_refused_with_an_inventory_error(fmt: str, data: object) -> None:
    _read_or_refuse({"format": fmt, "data": data})


@given(st.sampled_from(sorted(FORMATS)), st.dictionaries(st.text(max_size=20), JSON, max_size=6))
@settings(max_examples=200, deadline=None)
def test_any_object_of_a_json_format_is_read_or_refused(fmt: str, data: object) -> None:
    # With the formats' own key names, so the readers get past their first checks.
    keys = {"Caption", "Version", "CSDVersion", "ansible_facts", "ansible_os_name", "local",
            "osfullname", "os_version", "patches", "registry", "interface_addresses"}  # fmt: skip
    _read_or_refuse({"format": fmt, "data": data})
    for key in keys:
        _read_or_refuse({"format": fmt, "data": {key: data}})


@given(SYSTEMINFO_LIKE | JSON)
def test_detect_format_never_fails(data: object) -> None:
    assert detect_format(data) in (None, *FORMATS)


def _read_seconds(text: str) -> float:
    """The best of five CPU times reading `text` (the least disturbed by other work)."""
    times = []
    gc.disable()
    try:
        for _ in range(5):
            started = time.thread_time()
            with contextlib.suppress(InventoryError):
                read("systeminfo", text)
            times.append(time.thread_time() - started)
    finally:
        gc.enable()
    return min(times)


@pytest.mark.parametrize(
    "unit",
    [
        SYSTEMINFO_EN,
        ":",
        "[",
        "[01]:",
        '"',
        '"a",',
        "5.2.3790 ",
        "a",
        "\r\n",
        "x" * 200 + ": " + "5.2." * 10 + "\n",
    ],
    ids=[
        "systeminfo",
        "colons",
        "brackets",
        "items",
        "quotes",
        "csv",
        "versions",
        "one line",
        "empty lines",
        "long labels",
    ],
)
def test_reading_time_grows_linearly_with_the_paste(unit: str) -> None:
    # No backtracking or repeated scans: 8 times the text may cost about 8 times as
    # long, not 64 (quadratic). Compared within one run, so a busy machine slows both;
    # absolute speed is measured in bench/, not here.
    small = unit * (8 * 1024 // len(unit) + 1)
    large = small * 8
    assert len(large) >= 64 * 1024
    ratio = _read_seconds(large) / max(_read_seconds(small), 1e-5)
    assert ratio < 24, ratio
