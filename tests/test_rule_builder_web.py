"""The rule builder page through Flask's test client: the tree, examples, preview, publishing."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from flask.testing import FlaskClient

from kbservice.contract.ruleform import encode_rules
from kbservice.transfer.seeding import read_yaml

from .test_web import page, sign_in

API = "/api/v1/articles/885348"
BUILDER = "/kb/885348/edit/rules/builder"
SEED = read_yaml(Path(__file__).resolve().parent.parent / "seeds" / "articles" / "KB885348.yaml")


class _Form(HTMLParser):
    """The values a browser would send from the page's builder form (buttons left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        name = found.get("name")
        if tag == "input" and name:
            self.values[name] = found.get("value", "")
        elif tag == "select" and name:
            self._select = name
        elif (
            tag == "option"
            and self._select
            and ("selected" in found or self._select not in self.values)
        ):
            self.values[self._select] = found.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data

    @classmethod
    def of(cls, html: str) -> dict[str, str]:
        parser = cls()
        parser.feed(html)
        # A textarea's first line break belongs to the markup, as browsers read it.
        return {
            k: v.removeprefix("\n") if k.endswith(("json_text",)) else v
            for k, v in parser.values.items()
        }


def _post(
    client: FlaskClient, values: dict[str, str], action: str, status: int = 200, query: str = ""
):
    response = client.post(f"{BUILDER}{query}", data={**values, "action": action})
    if status == 303:
        assert response.status_code == 303, response.get_data(as_text=True)[:3000]
        return response
    return page(response, status)


def _rule_fields(values: dict[str, str]) -> dict[str, str]:
    """The rule nodes' filled fields (empty labels and the add-a-node choices left out)."""
    return {
        k: v
        for k, v in values.items()
        if k.split(".")[0] in ("n", "r") and "." in k and v != "" and not k.endswith(".add")
    }


def test_the_builder_opens_with_the_seed_rules_as_a_tree_and_its_examples_checked(client, app):
    sign_in(client, app)
    html = page(client.get(f"{BUILDER}?locale=en"))
    values = _Form.of(html)
    assert _rule_fields(values) == encode_rules(SEED["rules"])
    assert values["n.0.3.kind"] == "service_pack"
    assert html.count("— as expected") == 6
    assert "6 of 6 examples get the verdict they expect." in html
    assert "Registered systems whose verdict would change: 0." in html
    assert json.loads(values["json_text"]) == SEED["rules"]
    # Posting the page back as it is changes nothing: both views hold the same document.
    again = _Form.of(_post(client, values, "check", query="?locale=en"))
    assert _rule_fields(again) == _rule_fields(values)
    assert json.loads(again["json_text"]) == SEED["rules"]


def test_a_contradicting_example_blocks_publishing_in_both_languages(client, app):
    sign_in(client, app)
    values = _Form.of(page(client.get(BUILDER)))
    # Drop the behind-NAT test: "Not behind NAT" and "No NAT facts" get "applies".
    values = {k: v for k, v in values.items() if not k.startswith("n.1.")}
    en = _post(client, values, "publish", 422, "?locale=en")
    assert "Not published: the rules contradict these examples." in en
    assert "“Not behind NAT” expects “Does not apply”, but the rules give “Applies”." in en
    ja = _post(client, values, "publish", 422, "?locale=ja")
    assert "公開していません: ルールが次の例と矛盾しています。" in ja
    assert (
        "「Not behind NAT」の期待は「該当しません」ですが、ルールの判定は「該当します」です。" in ja
    )
    assert [r["number"] for r in client.get(f"{API}/revisions").get_json()["items"]] == ["2.2"]


def test_the_seed_rules_built_in_the_form_publish_with_a_new_example(client, app):
    sign_in(client, app)
    start = _Form.of(page(client.get(BUILDER)))
    kept = {
        k: v
        for k, v in start.items()
        if k.startswith("ex.") or k in ("csrf_token", "base_revision_id")
    }
    # Start from an empty group and build the seed's rules node by node, as the buttons do;
    # the published examples stay.
    values = {**kept, "n.kind": "all"}
    for kind in ("all", "fact", "fact"):
        values = _Form.of(_post(client, {**values, "n.add": kind}, "add:n"))
    for kind in ("product", "edition", "architecture", "service_pack"):
        values = _Form.of(_post(client, {**values, "n.0.add": kind}, "add:n.0"))
    values.update(
        {
            "n.0.label.en": SEED["rules"]["all"][0]["label"]["en"],
            "n.0.label.ja": SEED["rules"]["all"][0]["label"]["ja"],
            "n.0.0.value": "windows_server_2003",
            "n.0.1.shape": "list",
            "n.0.1.value": "standard\r\nenterprise",
            "n.0.2.value": "x86",
            "n.0.3.shape": "range",
            "n.1.fact": "behind_nat",
            "n.1.type": "boolean",
            "n.1.value": "true",
            "n.2.fact": "roles",
            "n.2.test": "contains",
            "n.2.value": "vpn_server",
        }
    )
    for index in (1, 2):
        for locale in ("en", "ja"):
            values[f"n.{index}.label.{locale}"] = SEED["rules"]["all"][index]["label"][locale]
    values = _Form.of(_post(client, values, "check"))  # the shape now offers min and max
    values.update({"n.0.3.min": "0", "n.0.3.max": "2"})
    checked = _Form.of(_post(client, values, "check"))
    assert json.loads(checked["json_text"]) == SEED["rules"]

    # An example that fails is refused, then fixed and published.
    values = _Form.of(_post(client, checked, "add_example"))
    values.update(
        {
            "ex.6.name": "Datacenter edition",
            "ex.6.expect": "applies",
            "ex.6.system": '{"product": "windows_server_2003", "edition": "datacenter"}',
        }
    )
    refused = _post(client, values, "publish", 422, "?locale=en")
    assert "“Datacenter edition” expects “Applies”, but the rules give “Does not apply”." in refused
    values = _Form.of(refused)
    values["ex.6.expect"] = "not_applicable"
    _post(client, {**values, "summary": "Built in the builder"}, "publish", 303)
    body = client.get(f"{API}/rules").get_json()
    assert body["rules"] == SEED["rules"]
    assert body["revision"]["number"] == "2.3"
    assert body["examples"][-1] == {
        "name": "Datacenter edition",
        "expect": "not_applicable",
        "system": {"product": "windows_server_2003", "edition": "datacenter"},
    }


def test_errors_point_at_the_node_and_moves_and_removals_work(client, app):
    sign_in(client, app)
    values = _Form.of(page(client.get(BUILDER)))
    values.update({"n.0.3.min": "5", "n.0.3.max": "2", "n.1.type": "number", "n.1.value": "yes"})
    html = _post(client, values, "check", query="?locale=en")
    node = re.search(
        r'<fieldset class="rule-node rule-service_pack has-errors" id="node-n.0.3"', html
    )
    assert node is not None
    assert re.search(r'id="node-n.1"[^>]*aria-describedby="n.1-problems"', html)
    assert "&#39;yes&#39; is not a number" in html
    assert "Correct the marked rules and examples to see the preview." in html

    values = _Form.of(page(client.get(BUILDER)))
    moved = _Form.of(_post(client, values, "up:n.2"))
    rules = json.loads(moved["json_text"])
    assert [child.get("fact") for child in rules["all"]] == [None, "roles", "behind_nat"]
    removed = _Form.of(_post(client, moved, "remove:n.1"))
    assert [child.get("fact") for child in json.loads(removed["json_text"])["all"]] == [
        None,
        "behind_nat",
    ]


def test_the_json_view_loads_into_the_builder_and_the_json_editor_checks_examples(client, app):
    sign_in(client, app)
    values = _Form.of(page(client.get(BUILDER)))
    values["json_text"] = json.dumps(
        {"any": [{"product": "windows_xp"}, {"fact": "x", "in": [1, "a"]}]}
    )
    loaded = _Form.of(_post(client, values, "from_json"))
    assert loaded["n.kind"] == "any" and loaded["n.1.kind"] == "json"  # a mixed list stays JSON
    assert json.loads(loaded["json_text"]) == json.loads(values["json_text"])

    editor = page(client.get("/kb/885348/edit/rules?locale=ja"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', editor).group(1)
    base = re.search(r'name="base_revision_id" value="(\d+)"', editor).group(1)
    rules = {"all": [SEED["rules"]["all"][0], SEED["rules"]["all"][2]]}
    response = client.post(
        "/kb/885348/edit/rules?locale=ja",
        data={
            "csrf_token": token,
            "base_revision_id": base,
            "draft_version": "0",
            "rules": json.dumps(rules),
            "action": "publish",
        },
    )
    html = page(response, 422)
    assert (
        "「No NAT facts」の期待は「判定できません」ですが、ルールの判定は「該当します」です。"
        in html
    )
    assert [r["number"] for r in client.get(f"{API}/revisions").get_json()["items"]] == ["2.2"]
