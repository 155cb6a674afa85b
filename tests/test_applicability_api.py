"""'Does this apply to my system?' over HTTP: verdicts, facts, batches, errors."""

from __future__ import annotations

import itertools
import re

import pytest

JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")
BASE = {"product": "windows_server_2003", "edition": "enterprise", "architecture": "x86"}
AFFECTED = {**BASE, "service_pack": 2, "behind_nat": True, "roles": ["vpn_server"]}
EDITIONS = ["standard", "enterprise", "datacenter", "web"]
ARCHITECTURES = ["x86", "x64", "ia64"]
SERVICE_PACKS = [0, 1, 2]
MISSING = object()
NAT = [True, False, MISSING]
ROLES = [["vpn_server"], ["file_server"], MISSING]


def _expected(edition, architecture, nat, roles) -> tuple[str, list[str]]:
    """The verdict KB885348's rules must give, derived from the article's text."""
    if edition not in ("standard", "enterprise") or architecture != "x86":
        return "not_applicable", []
    if nat is False or (roles is not MISSING and "vpn_server" not in roles):
        return "not_applicable", []
    missing = [name for name, value in (("behind_nat", nat), ("roles", roles)) if value is MISSING]
    return ("unknown", missing) if missing else ("applies", [])


def _check(client, system, **extra):
    response = client.post("/api/v1/applicability", json={"system": system, **extra})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json()


def test_full_verdict_table_of_the_seed_article(client):
    combos = list(itertools.product(EDITIONS, ARCHITECTURES, SERVICE_PACKS, NAT, ROLES))
    systems = []
    for index, (edition, architecture, sp, nat, roles) in enumerate(combos):
        system = {
            "id": f"host-{index}",
            "product": "windows_server_2003",
            "edition": edition,
            "architecture": architecture,
            "service_pack": sp,
        }
        if nat is not MISSING:
            system["behind_nat"] = nat
        if roles is not MISSING:
            system["roles"] = roles
        systems.append(system)
    response = client.post(
        "/api/v1/applicability/batch", json={"systems": systems, "articles": ["885348"]}
    )
    assert response.status_code == 200
    entries = response.get_json()["results"]
    assert [entry["id"] for entry in entries] == [s["id"] for s in systems]
    seen = set()
    for (edition, architecture, _sp, nat, roles), entry in zip(combos, entries, strict=True):
        (result,) = entry["results"]
        verdict, missing = _expected(edition, architecture, nat, roles)
        assert result["verdict"] == verdict, (edition, architecture, nat, roles, result)
        assert result["missing_facts"] == missing
        assert result["reasons"]
        seen.add(verdict)
    assert seen == {"applies", "not_applicable", "unknown"}


@pytest.mark.parametrize(
    ("product", "service_pack", "verdict"),
    [
        ("windows_server_2003", 3, "not_applicable"),
        ("windows_xp", 2, "not_applicable"),
        ("windows_2000_server", 4, "not_applicable"),
    ],
)
def test_products_and_service_packs_outside_the_article(client, product, service_pack, verdict):
    system = {**AFFECTED, "product": product, "service_pack": service_pack}
    body = _check(client, system, articles=["885348"])
    assert body["results"][0]["verdict"] == verdict


def test_single_system_response_shape(client):
    body = _check(client, AFFECTED, articles=["885348"], locale="en")
    assert body.keys() >= {"system", "derived", "results", "warnings"}
    (result,) = body["results"]
    assert result["kb"] == "885348"
    assert result["verdict"] == "applies"
    assert result["missing_facts"] == []
    assert "IPSec NAT-T" in result["title"]
    assert any("NAT" in reason for reason in result["reasons"])
    assert result["revision"]["number"] == "2.2"
    assert body["system"]["service_pack"] == 2
    assert body["warnings"] == []


def test_reasons_follow_the_requested_locale(client):
    english = _check(client, {**AFFECTED, "behind_nat": False}, articles=["885348"], locale="en")
    japanese = client.post(
        "/api/v1/applicability",
        json={"system": {**AFFECTED, "behind_nat": False}, "articles": ["885348"]},
        headers={"Accept-Language": "ja-JP"},
    )
    assert english["results"][0]["verdict"] == "not_applicable"
    assert not any(JAPANESE.search(r) for r in english["results"][0]["reasons"])
    assert japanese.headers["Content-Language"] == "ja"
    assert all(JAPANESE.search(r) for r in japanese.get_json()["results"][0]["reasons"])


def test_without_articles_only_applies_and_unknown_are_listed(client):
    applies = _check(client, AFFECTED)
    assert [r["kb"] for r in applies["results"]] == ["885348"]
    not_behind_nat = _check(client, {**AFFECTED, "behind_nat": False})
    assert not_behind_nat["results"] == []
    unknown = _check(client, BASE)
    assert unknown["results"][0]["verdict"] == "unknown"
    assert unknown["results"][0]["missing_facts"] == ["behind_nat", "roles", "service_pack"]


def test_requested_articles_come_back_in_request_order_whatever_the_verdict(client):
    # The same KB in two spellings counts once (API contract).
    body = _check(client, {**AFFECTED, "behind_nat": False}, articles=["KB885348", "885348"])
    assert [r["kb"] for r in body["results"]] == ["885348"]
    assert {r["verdict"] for r in body["results"]} == {"not_applicable"}


def test_unknown_kb_is_404(client):
    body = _problem(
        client.post(
            "/api/v1/applicability", json={"system": AFFECTED, "articles": ["885348", "1234"]}
        ),
        404,
    )
    assert "1234" in body["detail"]


def test_unrecognised_product_is_not_an_error(client):
    body = _check(client, {"product": "windows_95"}, articles=["885348"])
    assert body["results"][0]["verdict"] == "not_applicable"
    assert body["results"][0]["reasons"]
    assert any("windows_95" in warning for warning in body["warnings"])
    assert _check(client, {"product": "windows_95"})["results"] == []


@pytest.mark.parametrize(
    ("address", "behind_nat"),
    [
        ("172.15.255.255", False),
        ("172.16.0.0", True),
        ("172.31.255.255", True),
        ("172.32.0.0", False),
        ("10.0.0.1", True),
        ("192.168.255.255", True),
        ("192.169.0.1", False),
        ("100.64.0.1", False),
    ],
)
def test_behind_nat_is_derived_from_addresses_at_the_cidr_edges(client, address, behind_nat):
    system = {**BASE, "service_pack": 1, "roles": ["vpn_server"], "ip_addresses": [address]}
    body = _check(client, system, articles=["885348"])
    assert body["system"]["behind_nat"] is behind_nat
    assert body["derived"]["behind_nat"] == "ip_addresses"
    expected = "applies" if behind_nat else "not_applicable"
    assert body["results"][0]["verdict"] == expected


def test_mixed_addresses_and_explicit_facts(client):
    mixed = _check(client, {**BASE, "ip_addresses": ["10.0.0.5", "8.8.8.8", "fe80::1"]})
    assert mixed["system"]["behind_nat"] is False
    explicit = _check(client, {**BASE, "behind_nat": True, "ip_addresses": ["8.8.8.8"]})
    assert explicit["system"]["behind_nat"] is True
    assert "behind_nat" not in explicit["derived"]
    only_v6 = _check(client, {**BASE, "ip_addresses": ["2001:db8::1"]})
    assert "behind_nat" not in only_v6["system"]


@pytest.mark.parametrize(
    "cpe",
    [
        "cpe:2.3:o:microsoft:windows_server_2003:-:sp2:enterprise:*:*:*:x86:*",
        "cpe:2.3:o:microsoft:windows_2003_server:-:sp2:enterprise:*:*:*:x86:*",
        "cpe:2.3:o:microsoft:windows_2003_server:*:sp2:*:*:enterprise:*:x86:*",
    ],
)
def test_cpe_fills_product_service_pack_edition_and_architecture(client, cpe):
    body = _check(client, {"cpe": cpe, "behind_nat": True, "roles": ["vpn_server"]})
    system = body["system"]
    assert system["product"] == "windows_server_2003"
    assert system["service_pack"] == 2
    assert system["edition"] == "enterprise"
    assert system["architecture"] == "x86"
    assert body["derived"]["product"] == "cpe"
    assert [r["verdict"] for r in body["results"]] == ["applies"]


def test_cpe_with_architecture_in_the_legacy_edition_slot(client):
    body = _check(client, {"cpe": "cpe:2.3:o:microsoft:windows_2003_server:*:sp1:x64:*:*:*:*:*"})
    assert body["system"]["architecture"] == "x64"
    assert body["system"]["service_pack"] == 1


def test_wmi_fields_fill_the_facts(client):
    body = _check(
        client,
        {
            "os_caption": "Microsoft(R) Windows(R) Server 2003, Enterprise Edition",
            "os_version": "5.2.3790",
            "csd_version": "Service Pack 2",
            "os_product_type": 3,
            "behind_nat": True,
            "roles": ["vpn_server"],
        },
        articles=["885348"],
    )
    system = body["system"]
    assert (system["product"], system["edition"], system["architecture"]) == (
        "windows_server_2003",
        "enterprise",
        "x86",
    )
    assert system["service_pack"] == 2
    assert body["derived"]["product"] == "os_caption"
    assert body["results"][0]["verdict"] == "applies"


def test_wmi_x64_caption_and_xp_x64_told_apart_by_product_type(client):
    server = _check(
        client,
        {"os_caption": "Microsoft Windows Server 2003 R2 Standard x64 Edition", "csd_version": ""},
    )
    assert server["system"]["architecture"] == "x64"
    assert server["system"]["service_pack"] == 0
    xp64 = _check(client, {"os_version": "5.2.3790", "os_product_type": 1})
    assert xp64["system"]["product"] == "windows_xp"
    assert xp64["system"]["architecture"] == "x64"
    server_by_version = _check(client, {"os_version": "5.2.3790", "os_product_type": 3})
    assert server_by_version["system"]["product"] == "windows_server_2003"


def test_explicit_facts_win_over_derived_ones(client):
    body = _check(
        client,
        {
            "cpe": "cpe:2.3:o:microsoft:windows_2003_server:-:sp1:standard:*:*:*:x86:*",
            "service_pack": 2,
        },
    )
    assert body["system"]["service_pack"] == 2
    assert "service_pack" not in body["derived"]
    assert body["system"]["edition"] == "standard"


@pytest.mark.parametrize(
    ("system", "field"),
    [
        ({"service_pack": "abc"}, "system.service_pack"),
        ({"service_pack": -1}, "system.service_pack"),
        ({"service_pack": True}, "system.service_pack"),
        ({"roles": "vpn_server"}, "system.roles"),
        ({"ip_addresses": ["10.0.0.1", "999.1.1.1"]}, "system.ip_addresses.1"),
        ({"behind_nat": "yes"}, "system.behind_nat"),
        ({"custom": {"nested": 1}}, "system.custom"),
    ],
)
def test_wrong_fact_types_are_422_naming_the_field(client, system, field):
    body = _problem(client.post("/api/v1/applicability", json={"system": system}), 422)
    assert field in body["errors"], body["errors"]


@pytest.mark.parametrize(
    "payload",
    [{}, {"system": "x"}, {"system": {}, "articles": "885348"}, {"system": {}, "bogus": 1}, []],
)
def test_malformed_requests_are_problems(client, payload):
    response = client.post("/api/v1/applicability", json=payload)
    assert response.status_code in (400, 422)
    assert response.headers["Content-Type"] == "application/problem+json"


def test_invalid_json_is_400(client):
    response = client.post(
        "/api/v1/applicability", data="{not json", content_type="application/json"
    )
    _problem(response, 400)


def test_batch_keeps_order_and_isolates_bad_systems(client):
    systems = [
        {"id": "good-1", **AFFECTED},
        {"id": "bad", **BASE, "service_pack": -1},
        "not an object",
        {"id": "good-2", **AFFECTED, "behind_nat": False},
    ]
    response = client.post(
        "/api/v1/applicability/batch",
        json={"systems": systems, "articles": ["885348"], "locale": "ja"},
    )
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [entry["id"] for entry in results] == ["good-1", "bad", None, "good-2"]
    assert results[0]["results"][0]["verdict"] == "applies"
    error = results[1]["error"]
    assert error["status"] == 422
    assert "systems.1.service_pack" in error["errors"]
    assert results[2]["error"]["status"] == 422
    assert results[3]["results"][0]["verdict"] == "not_applicable"


def test_a_null_system_is_an_error_entry_not_a_failed_batch(client):
    # Was a 422 for the whole batch: the body schema refused null items.
    response = client.post(
        "/api/v1/applicability/batch", json={"systems": [None, {"id": "ok", **AFFECTED}]}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    first, second = response.get_json()["results"]
    assert first["id"] is None
    assert first["error"]["status"] == 422
    assert second["id"] == "ok" and second["results"]


@pytest.mark.parametrize("explain", [0, 1, "true", None])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/applicability", {"system": AFFECTED}),
        ("/api/v1/applicability/batch", {"systems": []}),
    ],
)
def test_explain_in_a_body_is_a_json_boolean(client, path, body, explain):
    # 0 and 1 were taken as booleans although the document says boolean.
    response = client.post(path, json={**body, "explain": explain})
    assert "explain" in _problem(response, 422)["errors"]


def test_batch_of_a_thousand_systems_and_the_limit(client, app):
    systems = [{"id": f"h{i}", **AFFECTED, "service_pack": i % 3} for i in range(1000)]
    response = client.post("/api/v1/applicability/batch", json={"systems": systems})
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == 1000
    app.config["MAX_BATCH_SYSTEMS"] = 10
    too_many = client.post("/api/v1/applicability/batch", json={"systems": systems[:11]})
    assert "10" in _problem(too_many, 413)["detail"]


@pytest.mark.parametrize("payload", [{"systems": "x"}, {"system": {}}, [1, 2], {"systems": {}}])
def test_batch_needs_an_object_with_a_systems_list(client, payload):
    response = client.post("/api/v1/applicability/batch", json=payload)
    assert response.status_code in (400, 422)
    assert response.headers["Content-Type"] == "application/problem+json"


def test_explain_adds_a_trace(client):
    body = _check(client, AFFECTED, articles=["885348"], explain=True)
    trace = body["results"][0]["trace"]
    assert trace["result"] == "true"
    assert trace["children"]
    via_query = client.post(
        "/api/v1/applicability?explain=true", json={"system": AFFECTED, "articles": ["885348"]}
    ).get_json()
    assert "trace" in via_query["results"][0]
    assert "trace" not in _check(client, AFFECTED, articles=["885348"])["results"][0]


def test_get_form_for_helpdesk_links(client):
    response = client.get(
        "/api/v1/articles/KB885348/applicability?product=windows_server_2003&edition=standard"
        "&architecture=x86&service_pack=1&roles=vpn_server&ip_addresses=192.168.0.10&locale=en"
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["results"][0]["verdict"] == "applies"
    assert body["system"]["behind_nat"] is True
    partial = client.get("/api/v1/articles/885348/applicability?product=windows_server_2003")
    assert partial.get_json()["results"][0]["verdict"] == "unknown"
    bad = client.get("/api/v1/articles/885348/applicability?service_pack=abc")
    assert "service_pack" in _problem(bad, 422)["errors"]
    _problem(client.get("/api/v1/articles/1/applicability"), 404)


def test_rules_endpoint_returns_the_rule_document(client):
    body = client.get("/api/v1/articles/885348/rules").get_json()
    assert body["kb"] == "885348"
    assert body["revision"]["number"] == "2.2"
    rules = body["rules"]
    assert "all" in rules
    text = str(rules)
    for fact in ("windows_server_2003", "behind_nat", "vpn_server"):
        assert fact in text
