"""What `kbservice import` checks in each row: the rules the API applies to the same values.

A backup is only restored as the API would have stored it: rule documents within the
configured limits, known roles, configured locales, KB numbers, applies-to entries that
name catalog products. Otherwise the restored service could fail on its own data (a
rule nested 600 levels deep kills the rule compiler with a RecursionError).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..access.tokens import Role
from ..applicability.examples import example_errors
from ..articles.drafts import KINDS
from ..articles.reading import normalize_kb
from ..catalog.products import Catalog, CatalogError, applies_to_errors
from ..errors import ValidationFailed
from ..notify.outbox import EVENTS
from ..rules import configured_limits, rule_errors
from ..systems.registry import check_system_id

Errors = dict[str, list[str]]  # field path → messages, as in the API's problem details

_APPLIES_TO_KEYS = frozenset(
    {"product", "edition", "architecture", "service_pack_min", "service_pack_max"}
)
_SERVICE_PACKS = range(100)  # the API's bounds of service_pack_min and service_pack_max


@dataclass(frozen=True)
class Limits:
    """The configured limits restored content must keep, as the API's writers do."""

    locales: tuple[str, ...]
    max_json_depth: int
    # validate_rules' keyword arguments, as the API's writers pass them.
    rules: Mapping[str, int]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """The limits of an application's configuration (KB_LOCALES, KB_MAX_*)."""
        return cls(
            locales=tuple(config["LOCALES"]),
            max_json_depth=config["MAX_JSON_DEPTH"],
            rules=configured_limits(config),
        )


class RowChecks:
    """Checks decoded rows in file order: products come before the rows that name them."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._products: list[dict[str, Any]] = []
        self._catalog: Catalog | None = None
        # Drafts come before products in the file: their applies-to waits for the catalog.
        self._waiting: list[tuple[int, list[dict[str, Any]]]] = []
        self._checks: dict[str, Callable[[dict[str, Any]], Errors]] = {
            "api_tokens": self._token,
            "articles": self._article,
            "drafts": self._draft,
            "products": self._product,
            "article_applicability": self._applicability,
            "revisions": self._revision,
            "revision_texts": self._text,
            "systems": self._system,
            "system_verdicts": self._system_verdict,
            "webhooks": self._webhook,
        }
        self._line = 0

    def check(self, table: str, row: dict[str, Any], line: int) -> Errors:
        """Problems of one row of `table` by column path (empty: the API would accept it)."""
        self._line = line
        check = self._checks.get(table)
        try:
            return check(row) if check else {}
        except CatalogError as exc:
            return {"": [f"the products before it do not make a catalog: {exc}"]}

    def finish(self) -> tuple[int, Errors] | None:
        """The first (line, problems) of the checks that waited for every product."""
        for line, entries in self._waiting:
            try:
                errors = applies_to_errors(entries, self.catalog, "payload.applies_to")
            except CatalogError as exc:
                errors = {"": [f"the products do not make a catalog: {exc}"]}
            if errors:
                return line, errors
        return None

    @property
    def catalog(self) -> Catalog:
        """The catalog of the products read so far; CatalogError if they conflict."""
        if self._catalog is None:
            self._catalog = Catalog.from_dicts(self._products)
        return self._catalog

    def _token(self, row: dict[str, Any]) -> Errors:
        try:
            Role.parse(row["role"])
        except ValidationFailed as exc:
            return exc.errors or {"role": [exc.detail]}
        return {}

    def _system(self, row: dict[str, Any]) -> Errors:
        try:
            check_system_id(row["id"])
        except ValidationFailed as exc:
            return exc.errors or {"id": [exc.detail]}
        return {}

    def _system_verdict(self, row: dict[str, Any]) -> Errors:
        if row["verdict"] not in ("applies", "unknown"):
            return {"verdict": ["must be applies or unknown"]}
        return _strings(row["missing_facts"], "missing_facts", lambda _: True, "fact names")

    def _webhook(self, row: dict[str, Any]) -> Errors:
        errors: Errors = {}
        if not row["url"].lower().startswith(("http://", "https://")):
            errors["url"] = ["must be an http or https URL"]
        if not isinstance(row["events"], list) or not set(row["events"]) <= set(EVENTS):
            errors["events"] = [f"must be a list of {', '.join(EVENTS)}"]
        return errors

    def _article(self, row: dict[str, Any]) -> Errors:
        return {**_kb(row["kb"], "kb"), **self._locale(row["source_locale"], "source_locale")}

    def _product(self, row: dict[str, Any]) -> Errors:
        data = row["data"]
        try:
            Catalog.from_dicts([data])
        except CatalogError as exc:
            return {"data": [str(exc)]}
        if data.get("id") != row["id"]:
            return {"data.id": [f"must be the row's id {row['id']!r}"]}
        self._products.append(data)
        self._catalog = None
        return {}

    def _applicability(self, row: dict[str, Any]) -> Errors:
        if self.catalog.get(row["product"]) is None:
            return {"product": [f"unknown product {row['product']!r}"]}
        return {}

    def _revision(self, row: dict[str, Any]) -> Errors:
        return {
            **self._rules(row["rules"], "rules"),
            **example_errors(row["examples"], "examples"),
            **self._applies_to(row["applies_to"], "applies_to"),
            **_keywords(row["keywords"], "keywords"),
            **_related(row["related"], "related"),
        }

    def _text(self, row: dict[str, Any]) -> Errors:
        return {
            **self._locale(row["locale"], "locale"),
            **_title(row["title"], "title"),
            **_sections(row["sections"], "sections"),
        }

    def _draft(self, row: dict[str, Any]) -> Errors:
        kind, payload = row["kind"], row["payload"]
        errors = _kb(row["kb"], "kb")
        if kind not in KINDS:
            errors["kind"] = [f"must be one of {', '.join(KINDS)}"]
        if row["locale"] or kind == "translation":
            errors.update(self._locale(row["locale"], "locale"))
        if not isinstance(payload, dict):
            return {**errors, "payload": ["must be an object"]}
        errors.update(self._rules(payload.get("rules"), "payload.rules"))
        if "examples" in payload:
            errors.update(example_errors(payload["examples"], "payload.examples"))
        if "source_locale" in payload:
            errors.update(self._locale(payload["source_locale"], "payload.source_locale"))
        texts = payload.get("texts")
        for locale, text in texts.items() if isinstance(texts, dict) else ():
            errors.update(self._locale(locale, f"payload.texts.{locale}"))
            if isinstance(text, dict):
                errors.update(_title(text.get("title"), f"payload.texts.{locale}.title"))
                errors.update(_sections(text.get("sections"), f"payload.texts.{locale}.sections"))
        if kind == "translation":
            errors.update(_title(payload.get("title"), "payload.title"))
            errors.update(_sections(payload.get("sections"), "payload.sections"))
        if payload.get("applies_to") is not None:
            entries = payload["applies_to"]
            shape = _applies_to_shape(entries, "payload.applies_to")
            if not shape:
                self._waiting.append((self._line, entries))
            errors.update(shape)
        errors.update(_keywords(payload.get("keywords", []), "payload.keywords"))
        errors.update(_related(payload.get("related", []), "payload.related"))
        return errors

    def _rules(self, rules: Any, path: str) -> Errors:
        return rule_errors(rules, self.limits.rules, path)

    def _applies_to(self, entries: Any, path: str) -> Errors:
        return _applies_to_shape(entries, path) or applies_to_errors(entries, self.catalog, path)

    def _locale(self, locale: Any, path: str) -> Errors:
        if locale not in self.limits.locales:
            return {path: [f"must be a configured locale: {', '.join(self.limits.locales)}"]}
        return {}


def _kb(value: Any, path: str) -> Errors:
    if not isinstance(value, str) or normalize_kb(value) != value:
        return {path: ["must be a KB number such as 885348"]}
    return {}


def _strings(value: Any, path: str, ok: Callable[[str], bool], what: str) -> Errors:
    if not isinstance(value, list):
        return {path: [f"expected a list of {what}"]}
    return {
        f"{path}.{i}": [f"expected {what}"]
        for i, item in enumerate(value)
        if not isinstance(item, str) or not ok(item)
    }


def _keywords(value: Any, path: str) -> Errors:
    return _strings(value, path, bool, "non-empty texts")


def _related(value: Any, path: str) -> Errors:
    return _strings(value, path, lambda kb: normalize_kb(kb) is not None, "KB numbers")


def _title(value: Any, path: str) -> Errors:
    return {} if isinstance(value, str) and value else {path: ["expected a non-empty text"]}


def _sections(value: Any, path: str) -> Errors:
    if not isinstance(value, list):
        return {path: ["expected a list of sections"]}
    errors: Errors = {}
    for i, section in enumerate(value):
        if not isinstance(section, dict) or not isinstance(section.get("body"), str):
            errors[f"{path}.{i}"] = ['expected {"heading": text or null, "body": text}']
        elif not isinstance(section.get("heading"), str | None):
            errors[f"{path}.{i}.heading"] = ["expected a text or null"]
    return errors


def _applies_to_shape(entries: Any, path: str) -> Errors:
    """What the API's schema refuses before it looks at the catalog."""
    if not isinstance(entries, list):
        return {path: ["expected a list of applies-to entries"]}
    errors: Errors = {}
    for i, entry in enumerate(entries):
        where = f"{path}.{i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("product"), str):
            errors[where] = ['expected {"product": id, "edition": …, "architecture": …}']
            continue
        for key in sorted(set(entry) - _APPLIES_TO_KEYS):
            errors[f"{where}.{key}"] = ["unknown field"]
        for key in ("edition", "architecture"):
            if not isinstance(entry.get(key), str | None):
                errors[f"{where}.{key}"] = ["expected an id or null"]
        for key in ("service_pack_min", "service_pack_max"):
            value = entry.get(key)
            if value is not None and (type(value) is not int or value not in _SERVICE_PACKS):
                errors[f"{where}.{key}"] = ["expected a service pack number 0–99 or null"]
    return errors
