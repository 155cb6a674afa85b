"""The rule builder: the rules as a tree of groups and tests, with examples checked beside them.

Every button is a plain form submit (add, move or remove a node, check, publish), so the
page works without JavaScript; web.js only re-checks as the editor types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, flash, jsonify, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from ..applicability.preview import RulesPreview, preview_rules
from ..articles import reading, revisions
from ..contract import ruleform
from ..contract.jsonin import UnsafeJSON, load_json
from ..errors import PreconditionFailed, ValidationFailed
from ..http.context import get_catalog, get_database, get_primary_session
from ..rules import configured_limits, rule_errors
from . import i18n
from .auth import actor, editor_required
from .base import bp, render

Errors = dict[str, list[str]]
EXPECTATIONS = ("applies", "not_applicable", "unknown")
MAX_SUMMARY = 1000


@dataclass
class BuilderForm:
    """The builder's fields as posted: rule nodes, examples, summary and base revision."""

    fields: dict[str, str]
    examples: list[dict[str, str]]
    summary: str = ""
    base_revision_id: int | None = None
    json_text: str = ""
    # Messages by builder node (`n.1`), by example (`examples.0`) or by field (`summary`).
    errors: Errors = field(default_factory=dict)
    # Set by check() when the rules and examples are valid: what publishing writes.
    rules: dict[str, Any] | None = None
    parsed_examples: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_article(cls, snapshot: reading.ArticleSnapshot) -> BuilderForm:
        """The form as it opens: the published rules and examples."""
        rules = dict(snapshot.rules or {})
        return cls(
            fields=ruleform.encode_rules(rules),
            examples=[_example_fields(example) for example in snapshot.examples],
            base_revision_id=snapshot.revision_id,
        )

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> BuilderForm:
        """The posted fields, not yet checked."""
        fields = {
            name: value
            for name, value in form.items()
            if name.split(".", 1)[0] in (ruleform.ROOT, ruleform.RESOLUTION) and "." in name
        }
        indexes = sorted({int(name.split(".")[1]) for name in form if _is_example_field(name)})
        examples = [
            {part: form.get(f"ex.{index}.{part}", "") for part in ("name", "expect", "system")}
            for index in indexes
        ]
        base = form.get("base_revision_id", "")
        return cls(
            fields=fields,
            examples=examples,
            summary=form.get("summary", "").strip(),
            base_revision_id=int(base) if base.isascii() and base.isdigit() else None,
            json_text=form.get("json_text", ""),
        )

    def apply(self, action: str) -> None:
        """Carry out one tree or example button."""
        verb, _, target = action.partition(":")
        if verb == "add":
            kind = request.form.get(f"{target}.add", "fact")
            self.fields = ruleform.add_node(self.fields, target, kind)
        elif verb == "remove":
            self.fields = ruleform.remove_node(self.fields, target)
        elif verb in ("up", "down"):
            self.fields = ruleform.move_node(self.fields, target, -1 if verb == "up" else 1)
        elif verb == "add_resolution":
            self.fields = {**self.fields, **ruleform.new_node(ruleform.RESOLUTION, "fact")}
        elif verb == "add_example":
            self.examples.append({"name": "", "expect": "applies", "system": "{}"})
        elif verb == "remove_example" and target.isdigit() and int(target) < len(self.examples):
            del self.examples[int(target)]
        elif verb == "from_json":
            self._load_json()

    def _load_json(self) -> None:
        try:
            doc = load_json(self.json_text.encode(), current_app.config["MAX_JSON_DEPTH"])
        except UnsafeJSON as exc:
            self.errors["json_text"] = [str(exc)]
            return
        if not isinstance(doc, dict):
            self.errors["json_text"] = [i18n.text("builder.json_object")]
            return
        self.fields = ruleform.encode_rules(doc)

    def check(self) -> RulesPreview | None:
        """Decode and validate the rules, judge the examples; errors point at their node."""
        if len(self.summary) > MAX_SUMMARY:
            self.errors["summary"] = [f"Longer than maximum length {MAX_SUMMARY}."]
        doc, unparsed = ruleform.decode_partially(self.fields)
        for name, messages in unparsed.items():
            self._node_error(ruleform.node_of_field(name), messages)
        if not unparsed:
            self.json_text = json.dumps(doc, ensure_ascii=False, indent=2)
        # Checked even when a field did not parse, so every problem shows at once.
        problems = rule_errors(doc, configured_limits(current_app.config))
        for path, messages in problems.items():
            where = f"{path}: " if path else ""
            self._node_error(
                ruleform.node_of_path(path), [f"{where}{message}" for message in messages]
            )
        examples = self._parsed_examples()
        if unparsed or problems or examples is None:
            return None
        self.rules, self.parsed_examples = doc, examples
        try:
            return preview_rules(
                get_primary_session(), request.view_args["kb"], doc, examples, get_catalog()
            )
        except ValidationFailed as exc:
            for path, messages in (exc.errors or {}).items():
                example = ".".join(path.split(".")[:2])
                self.errors.setdefault(example, []).extend(
                    f"{path.split('.', 3)[-1]}: {message}" for message in messages
                )
            return None

    def _parsed_examples(self) -> list[dict[str, Any]] | None:
        parsed: list[dict[str, Any]] = []
        for index, example in enumerate(self.examples):
            where = f"examples.{index}"
            try:
                system = load_json(
                    example["system"].encode() or b"{}", current_app.config["MAX_JSON_DEPTH"]
                )
            except UnsafeJSON as exc:
                self.errors.setdefault(where, []).append(str(exc))
                continue
            if not isinstance(system, dict):
                self.errors.setdefault(where, []).append(i18n.text("builder.system_object"))
            if not example["name"].strip():
                self.errors.setdefault(where, []).append(i18n.text("builder.name_needed"))
            if example["expect"] not in EXPECTATIONS:
                self.errors.setdefault(where, []).append(i18n.text("builder.expect_needed"))
            parsed.append({**example, "name": example["name"].strip(), "system": system})
        return None if any(k.startswith("examples.") for k in self.errors) else parsed

    def _node_error(self, node: str, messages: list[str]) -> None:
        # A node written as JSON holds its subtree: errors inside it are shown on it.
        while f"{node}.kind" not in self.fields and "." in node:
            node = node.rsplit(".", 1)[0]
        self.errors.setdefault(node, []).extend(messages)


def _is_example_field(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 3 and parts[0] == "ex" and parts[1].isdigit() and len(parts[1]) <= 4


def _example_fields(example: Any) -> dict[str, str]:
    return {
        "name": example["name"],
        "expect": example["expect"],
        "system": json.dumps(example["system"], ensure_ascii=False),
    }


def _catalog_choices() -> dict[str, list[str]]:
    catalog = get_catalog()
    return {
        "product": [p.id for p in catalog.products],
        "edition": sorted({e.id for p in catalog.products for e in p.editions}),
        "architecture": list(catalog.architecture_ids),
    }


@bp.route("/kb/<kb>/edit/rules/builder", methods=["GET", "POST"])
@editor_required
def rule_builder(kb: str) -> Response | tuple[str, int]:
    """Build the rules as a tree, check the examples beside them, preview and publish."""
    snapshot = reading.get_article(get_primary_session(), kb)
    if request.method == "GET":
        form = BuilderForm.from_article(snapshot)
        return _page(snapshot, form, form.check())
    form = BuilderForm.from_form(request.form)
    action = request.form.get("action", "check")
    form.apply(action)
    preview = form.check()
    if action != "publish":
        return _page(snapshot, form, preview)
    failing = [r for r in preview.examples if not r.ok] if preview else []
    if preview is None or failing or form.errors:
        return _page(snapshot, form, preview, status=422, refused=True)
    assert form.rules is not None
    change = revisions.Change(rules=form.rules, examples=form.parsed_examples)
    try:
        with get_database().write() as session:
            published = revisions.publish_recorded(
                session,
                snapshot.kb,
                form.base_revision_id or 0,
                change,
                actor=actor(),
                summary=form.summary or "Rules",
                action="rules.put",
            )
    except PreconditionFailed:
        form.errors["base_revision_id"] = [i18n.text("builder.stale")]
        return _page(snapshot, form, preview, status=409)
    flash(i18n.text("edit.published", number=published.revision.number))
    return redirect(url_for("web.article", kb=published.kb), 303)


@bp.route("/kb/<kb>/edit/rules/builder/check", methods=["POST"])
@editor_required
def rule_builder_check(kb: str) -> Response:
    """The verdicts of the examples as the form stands, for web.js's live check."""
    reading.get_article(get_primary_session(), kb)
    form = BuilderForm.from_form(request.form)
    preview = form.check()
    results = preview.examples if preview else []
    return jsonify(
        {
            "examples": [
                {
                    "verdict": r.verdict,
                    "ok": r.ok,
                    "text": " — ".join(
                        (
                            i18n.text(f"verdict.{r.verdict}"),
                            i18n.text("builder.example_ok" if r.ok else "builder.example_fails"),
                        )
                    ),
                }
                for r in results
            ],
            "valid": preview is not None,
            "errors": form.errors,
        }
    )


def _page(
    snapshot: reading.ArticleSnapshot,
    form: BuilderForm,
    preview: RulesPreview | None,
    status: int = 200,
    refused: bool = False,
) -> tuple[str, int]:
    return render(
        "edit_rules_builder.html",
        status,
        article=snapshot,
        form=form,
        fields=form.fields,
        children=ruleform.child_index(form.fields),
        preview=preview,
        refused=refused,
        choices=_catalog_choices(),
        kinds=ruleform.KINDS,
        groups=ruleform.GROUPS,
        platform_tests=ruleform.PLATFORM_TESTS,
        fact_tests=ruleform.FACT_TESTS,
        types=ruleform.TYPES,
        expectations=EXPECTATIONS,
    )
