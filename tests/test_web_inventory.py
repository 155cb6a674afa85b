"""The check page's paste box: what an inventory tool printed fills the form and gives verdicts."""

from __future__ import annotations

import json

import pytest

from .inventory_samples import ANSIBLE, OSQUERY, SALT, SYSTEMINFO_CSV, SYSTEMINFO_JA, WMI, as_json
from .test_web import Elements, csrf_of, page


def paste(client, text: str, fmt: str = "auto", status: int = 200, **extra) -> str:
    form = page(client.get("/check", query_string={"locale": "en", **extra}))
    data = {"csrf_token": csrf_of(form), "inventory_format": fmt, "inventory_data": text, **extra}
    return page(client.post("/check?locale=en", data=data), status)


def selected(html: str, select: str) -> list[str]:
    """The values of the selected options of the select with id `select`."""
    found, inside = [], False
    for tag, attrs in Elements.of(html):
        if tag == "select":
            inside = attrs.get("id") == select
        elif tag == "option" and inside and "selected" in attrs:
            found.append(attrs["value"])
    return found


def value_of(html: str, field: str) -> str | None:
    return next(
        (attrs.get("value") for tag, attrs in Elements.of(html) if attrs.get("id") == field), None
    )


def test_a_pasted_systeminfo_fills_the_form_and_says_what_it_read(client):
    html = paste(client, SYSTEMINFO_JA, kb="885348")
    assert selected(html, "product") == ["windows_server_2003"]
    assert selected(html, "edition") == ["enterprise"]
    assert selected(html, "architecture") == ["x86"]
    assert selected(html, "service_pack") == ["2"]
    assert value_of(html, "ip_addresses") == "192.168.1.10"
    assert value_of(html, "installed_updates") == "KB147222, KB885407"
    assert selected(html, "inventory_format") == ["systeminfo"]  # what was detected
    assert "Read from the pasted systeminfo:" in html
    assert "<li>Product: windows_server_2003</li>" in html
    assert "Service pack: 2 (from the pasted inventory data)" in html
    # Only the role is missing for KB885348; the form keeps the article.
    assert "verdict-unknown" in html and 'href="#role-vpn_server"' in html
    assert value_of(html, "kb") is None and 'name="kb" value="885348"' in html


@pytest.mark.parametrize(
    ("data", "fmt"),
    [(SYSTEMINFO_CSV, "systeminfo"), (WMI, "wmi"), (ANSIBLE, "ansible"), (SALT, "salt"),
     (OSQUERY, "osquery")],
)  # fmt: skip
def test_each_format_is_detected_and_read(client, data, fmt):
    html = paste(client, as_json(data))
    assert selected(html, "inventory_format") == [fmt]
    assert selected(html, "product") == ["windows_server_2003"]
    assert selected(html, "service_pack") == ["2"]


@pytest.mark.parametrize(
    ("text", "fmt", "field", "message"),
    [
        ("  \r\n", "auto", "inventory_data", "Paste what the tool printed."),
        (json.dumps(WMI)[:-5], "auto", "inventory_data", "not valid JSON"),
        ("Caption: Windows", "wmi", "inventory_data", "not valid JSON"),
        ('{"hello": "world"}', "auto", "inventory_format", "choose it"),
        (json.dumps(WMI), "rpm", "inventory_format", "Choose one of the listed formats."),
        ("Host Name: SRV01\r\n", "systeminfo", "inventory_data", "no operating system"),
        (json.dumps(WMI), "salt", "inventory_data", "no operating system"),
    ],
)
def test_a_paste_that_cannot_be_read_is_an_error_on_the_box(client, text, fmt, field, message):
    html = paste(client, text, fmt, status=422)
    assert f'id="{field}-error"' in html
    assert message in html
    assert f'href="#{field}"' in html  # the error summary links to the box
    assert "verdict-" not in html


def test_the_paste_needs_the_pages_csrf_token(client):
    html = page(client.post("/check", data={"inventory_data": as_json(WMI)}), 400)
    assert "verdict-" not in html
