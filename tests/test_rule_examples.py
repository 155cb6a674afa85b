"""Rule examples over HTTP: stored with the rules, refusing contradicting writes, and preview."""

from __future__ import annotations

import copy

KB = "/api/v1/articles/885348"
SEED_NAMES = [
    "VPN server behind NAT",
    "Not behind NAT",
    "No VPN server role",
    "Service pack 3",
    "x64 edition",
    "No NAT facts",
]


# The seed examples that rules without the behind-NAT test contradict.
BROKEN = {"Not behind NAT", "No NAT facts"}


def _problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json()


def _etag(client):
    return client.get(f"{KB}?locale=ja").headers["ETag"]


def _revision_count(client):
    return len(client.get(f"{KB}/revisions").get_json()["items"])


def _without_nat_test(rules):
    """The seed's rules without the behind-NAT test: "Not behind NAT", "No NAT facts" break."""
    changed = copy.deepcopy(rules)
    del changed["all"][1]
    return changed


def test_the_seed_carries_examples_that_its_rules_satisfy(client, editor):
    body = client.get(f"{KB}/rules").get_json()
    assert [example["name"] for example in body["examples"]] == SEED_NAMES
    expected = ["applies", "not_applicable", "not_applicable"]
    assert [e["expect"] for e in body["examples"]] == [*expected, *expected[1:], "unknown"]
    preview = client.post(f"{KB}/rules/preview", json={"rules": body["rules"]}, headers=editor)
    assert preview.status_code == 200, preview.get_data(as_text=True)
    results = preview.get_json()["examples"]
    assert [r["verdict"] for r in results] == [e["expect"] for e in body["examples"]]
    assert all(r["ok"] for r in results)


def test_rules_contradicting_a_kept_example_are_refused_and_nothing_is_written(client, editor):
    before = client.get(f"{KB}/rules").get_json()
    response = client.put(
        f"{KB}/rules",
        json={"rules": _without_nat_test(before["rules"])},
        headers={**editor, "If-Match": _etag(client)},
    )
    body = _problem(response, 422)
    assert list(body["errors"]) == ["examples.1", "examples.5"]
    assert body["errors"]["examples.1"] == [
        "'Not behind NAT' expects not_applicable, but the rules give applies"
    ]
    assert body["errors"]["examples.5"] == [
        "'No NAT facts' expects unknown, but the rules give applies"
    ]
    assert client.get(f"{KB}/rules").get_json() == before
    assert _revision_count(client) == 1


def test_examples_are_written_with_the_rules_kept_and_removed(client, editor):
    current = client.get(f"{KB}/rules").get_json()
    rules = _without_nat_test(current["rules"])
    examples = [e for e in current["examples"] if e["name"] not in BROKEN]
    written = client.put(
        f"{KB}/rules",
        json={"rules": rules, "examples": examples},
        headers={**editor, "If-Match": _etag(client)},
    )
    assert written.status_code == 200, written.get_data(as_text=True)
    assert written.get_json()["examples"] == examples
    assert client.get(f"{KB}/rules").get_json()["examples"] == examples

    # Without `examples` the current ones stay; `[]` removes them.
    kept = client.put(
        f"{KB}/rules", json={"rules": rules}, headers={**editor, "If-Match": _etag(client)}
    )
    assert kept.get_json()["examples"] == examples
    removed = client.put(
        f"{KB}/rules",
        json={"rules": rules, "examples": []},
        headers={**editor, "If-Match": _etag(client)},
    )
    assert removed.get_json()["examples"] == []
    # Examples belong to revisions: restoring 2.2 brings its examples back.
    restored = client.post(
        f"{KB}/revisions/2.2/restore", json={}, headers={**editor, "If-Match": _etag(client)}
    )
    assert restored.status_code == 200, restored.get_data(as_text=True)
    assert client.get(f"{KB}/rules").get_json()["examples"] == current["examples"]


def test_a_new_example_that_fails_names_its_index_and_verdict(client, editor):
    current = client.get(f"{KB}/rules").get_json()
    wrong = {
        "name": "Datacenter edition",
        "system": {"product": "windows_server_2003", "edition": "datacenter"},
        "expect": "applies",
    }
    response = client.put(
        f"{KB}/rules",
        json={"rules": current["rules"], "examples": [*current["examples"], wrong]},
        headers={**editor, "If-Match": _etag(client)},
    )
    errors = _problem(response, 422)["errors"]
    assert errors == {
        "examples.6": ["'Datacenter edition' expects applies, but the rules give not_applicable"]
    }
    assert _revision_count(client) == 1


def test_invalid_examples_are_refused_by_field(client, editor):
    rules = client.get(f"{KB}/rules").get_json()["rules"]
    headers = {**editor, "If-Match": _etag(client)}
    bad_system = {"name": "x", "system": {"service_pack": "two"}, "expect": "applies"}
    errors = _problem(
        client.put(f"{KB}/rules", json={"rules": rules, "examples": [bad_system]}, headers=headers),
        422,
    )["errors"]
    assert list(errors) == ["examples.0.system.service_pack"]
    bad_expect = {"name": "x", "system": {}, "expect": "maybe"}
    body = _problem(
        client.put(f"{KB}/rules", json={"rules": rules, "examples": [bad_expect]}, headers=headers),
        422,
    )
    assert "examples.0.expect" in str(body["errors"])
    assert _revision_count(client) == 1


def test_preview_judges_proposed_rules_and_writes_nothing(client, editor):
    current = client.get(f"{KB}/rules").get_json()
    proposed = _without_nat_test(current["rules"])
    response = client.post(f"{KB}/rules/preview", json={"rules": proposed}, headers=editor)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["systems"] == {"changed": 0, "changes": []}
    assert [(r["name"], r["verdict"], r["ok"]) for r in body["examples"]][:2] == [
        ("VPN server behind NAT", "applies", True),
        ("Not behind NAT", "applies", False),
    ]
    assert body["examples"][1]["expect"] == "not_applicable"
    given = [{"name": "Bare", "system": {}, "expect": "applies"}]
    only = client.post(
        f"{KB}/rules/preview", json={"rules": proposed, "examples": given}, headers=editor
    ).get_json()
    assert only["examples"] == [
        {"name": "Bare", "expect": "applies", "verdict": "unknown", "ok": False}
    ]
    assert client.get(f"{KB}/rules").get_json() == current
    assert _revision_count(client) == 1


def test_preview_needs_an_editor_an_article_and_valid_rules(client, editor):
    rules = {"product": "windows_xp"}
    _problem(client.post(f"{KB}/rules/preview", json={"rules": rules}), 401)
    _problem(
        client.post("/api/v1/articles/999999/rules/preview", json={"rules": rules}, headers=editor),
        404,
    )
    body = _problem(
        client.post(f"{KB}/rules/preview", json={"rules": {"any": []}}, headers=editor), 422
    )
    assert "rules.any" in body["errors"]


def test_a_rules_draft_is_held_to_its_examples_when_published(client, editor):
    current = client.get(f"{KB}/rules").get_json()
    proposed = _without_nat_test(current["rules"])
    # A half-done draft may contradict the examples; publishing it may not.
    saved = client.put(f"{KB}/drafts/rules", json={"rules": proposed}, headers=editor)
    assert saved.status_code == 201, saved.get_data(as_text=True)
    draft = saved.get_json()["id"]
    refused = client.post(
        f"/api/v1/drafts/{draft}/publish", json={}, headers={**editor, "If-Match": _etag(client)}
    )
    assert list(_problem(refused, 422)["errors"]) == ["examples.1", "examples.5"]
    assert _revision_count(client) == 1

    examples = [e for e in current["examples"] if e["name"] not in BROKEN]
    fixed = client.put(
        f"{KB}/drafts/rules",
        json={"rules": proposed, "examples": examples},
        headers={**editor, "If-Match": saved.headers["ETag"]},
    )
    assert fixed.status_code == 200, fixed.get_data(as_text=True)
    assert fixed.get_json()["payload"]["examples"] == examples
    published = client.post(
        f"/api/v1/drafts/{draft}/publish", json={}, headers={**editor, "If-Match": _etag(client)}
    )
    assert published.status_code == 200, published.get_data(as_text=True)
    assert client.get(f"{KB}/rules").get_json()["examples"] == examples
    assert client.get(f"{KB}/rules").get_json()["rules"] == proposed


def test_preview_reports_the_registered_systems_whose_verdict_would_change(app, client, editor):
    from .conftest import make_token

    inventory = {"Authorization": f"Bearer {make_token(app, 'inventory')}"}
    server = {
        "product": "windows_server_2003",
        "edition": "enterprise",
        "architecture": "x86",
        "service_pack": 1,
        "roles": ["vpn_server"],
    }
    for name, behind_nat in (("gw-1", False), ("gw-2", False), ("gw-3", True)):
        response = client.put(
            f"/api/v1/systems/{name}", json={**server, "behind_nat": behind_nat}, headers=inventory
        )
        assert response.status_code == 201, response.get_data(as_text=True)
    current = client.get(f"{KB}/rules").get_json()
    proposed = _without_nat_test(current["rules"])
    body = client.post(
        f"{KB}/rules/preview", json={"rules": proposed, "examples": []}, headers=editor
    ).get_json()
    # The two systems not behind NAT would now get `applies`; the third already does.
    assert body["systems"]["changed"] == 2
    assert sorted(body["systems"]["changes"], key=lambda c: c["system"]) == [
        {"system": "gw-1", "verdict": "applies", "previous_verdict": "not_applicable"},
        {"system": "gw-2", "verdict": "applies", "previous_verdict": "not_applicable"},
    ]
    # Nothing was written: the stored verdicts are still the old ones.
    stored = client.get("/api/v1/articles/885348/systems", headers=inventory).get_json()
    assert [item["id"] for item in stored["items"]] == ["gw-3"]
