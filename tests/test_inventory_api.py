"""Inventory data as a source of facts, through the applicability API."""

from __future__ import annotations

import json

import pytest

from .flask_requests import FlaskRequests
from .inventory_samples import ADDRESS, SAME_MACHINE, WMI, X64_MACHINE

PATH = "/api/v1/applicability"
SEED = "885348"
# What no inventory format holds: the server's role.
ROLES = {"roles": ["vpn_server"]}
# Win32_OperatingSystem holds no addresses, so its system sends them itself.
HELD_ELSEWHERE = {"wmi": {"ip_addresses": [ADDRESS]}}
PLATFORM = ("product", "edition", "architecture", "service_pack")
IDS = [name for name, _, _ in SAME_MACHINE]


def _system(fmt: str, data: object) -> dict:
    return {**ROLES, **HELD_ELSEWHERE.get(fmt, {}), "inventory": {"format": fmt, "data": data}}


def _check(client, system: dict, **extra) -> dict:
    response = client.post(PATH, json={"system": system, "articles": [SEED], **extra})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.mark.parametrize(("name", "fmt", "data"), SAME_MACHINE, ids=IDS)
def test_every_format_gives_the_seed_article_the_same_verdict(client, name, fmt, data):
    explicit = _check(
        client,
        {**ROLES, "product": "windows_server_2003", "edition": "enterprise",
         "architecture": "x86", "service_pack": 2, "ip_addresses": [ADDRESS]},
    )  # fmt: skip
    answer = _check(client, _system(fmt, data))
    assert [r["verdict"] for r in answer["results"]] == ["applies"]
    assert answer["results"][0]["verdict"] == explicit["results"][0]["verdict"]
    assert {fact: answer["system"][fact] for fact in PLATFORM} == {
        fact: explicit["system"][fact] for fact in PLATFORM
    }
    assert {fact: answer["derived"][fact] for fact in PLATFORM} == dict.fromkeys(
        PLATFORM, "inventory"
    )
    assert answer["system"]["behind_nat"] is True
    assert answer["system"]["inventory"] == {"format": fmt, "data": data}
    assert answer["warnings"] == []


@pytest.mark.parametrize(("name", "fmt", "data"), SAME_MACHINE, ids=IDS)
def test_every_format_says_why_the_article_does_not_apply_without_the_role(client, name, fmt, data):
    system = {**HELD_ELSEWHERE.get(fmt, {}), "inventory": {"format": fmt, "data": data}}
    answer = _check(client, system, locale="en")
    assert [r["verdict"] for r in answer["results"]] == ["unknown"]
    assert answer["results"][0]["missing_facts"] == ["roles"]


@pytest.mark.parametrize(("name", "fmt", "data"), X64_MACHINE, ids=IDS)
def test_every_format_tells_an_x64_machine_the_article_does_not_apply(client, name, fmt, data):
    answer = _check(client, _system(fmt, data), locale="en")
    assert [r["verdict"] for r in answer["results"]] == ["not_applicable"]
    assert {fact: answer["system"][fact] for fact in PLATFORM} == {
        "product": "windows_server_2003",
        "edition": "standard",
        "architecture": "x64",
        "service_pack": 2,
    }
    assert answer["derived"]["architecture"] == "inventory"


def test_explicit_facts_win_over_the_inventory(client):
    system = {**_system("wmi", WMI), "architecture": "x64"}
    answer = _check(client, system)
    assert answer["system"]["architecture"] == "x64"
    assert "architecture" not in answer["derived"]
    assert answer["results"][0]["verdict"] == "not_applicable"


def test_a_batch_reads_each_systems_inventory(client):
    systems = [
        {"id": f"host-{i}", **_system(fmt, data)} for i, (_, fmt, data) in enumerate(SAME_MACHINE)
    ]
    response = client.post(f"{PATH}/batch", json={"systems": systems, "articles": [SEED]})
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert [entry["results"][0]["verdict"] for entry in results] == ["applies"] * len(systems)


@pytest.mark.parametrize(
    ("inventory", "field"),
    [
        ({"format": "sccm", "data": "OS Name: Windows"}, "inventory.format"),
        ({"data": "OS Name: Windows"}, "inventory.format"),
        ({"format": "systeminfo", "data": {"OS Name": "Windows"}}, "inventory.data"),
        ({"format": "wmi", "data": json.dumps(WMI)}, "inventory.data"),
        ({"format": "systeminfo", "data": "Host Name: SRV01\r\n"}, "inventory.data"),
        ({"format": "osquery", "data": {"patches": []}}, "inventory.data"),
        ("systeminfo", "inventory"),
    ],
)
def test_bad_inventory_is_a_422_naming_the_field(client, inventory, field):
    flask = FlaskRequests(client.application)
    response = flask.post(client, PATH, json={"system": {**ROLES, "inventory": inventory}})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert list(response.get_json()["errors"]) == [f"system.{field}"]
    assert response.through_flask

    batch = client.post(
        f"{PATH}/batch",
        json={
            "systems": [
                {"id": "good", **_system("wmi", WMI)},
                {"id": "bad", "inventory": inventory},
            ]
        },
    )
    assert batch.status_code == 200, batch.get_data(as_text=True)
    good, bad = batch.get_json()["results"]
    assert "error" not in good and good["results"]
    assert bad["error"]["status"] == 422
    assert list(bad["error"]["errors"]) == [f"systems.1.{field}"]


def test_a_system_with_inventory_is_answered_by_flask_as_the_fast_path_would(client):
    # The fast path takes systems of scalars only; an inventory object goes to Flask.
    flask = FlaskRequests(client.application)
    body = json.dumps({"system": _system("systeminfo", SAME_MACHINE[0][2])})
    response = flask.post(client, PATH, data=body, content_type="application/json")
    assert response.status_code == 200
    assert response.through_flask
    assert response.get_json()["derived"]["product"] == "inventory"
