"""Reading the pages' forms into the values the domain takes, and the catalog's choices."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from ..catalog.facts import INVENTORY, NormalizedSystem
from ..catalog.products import Catalog, localized
from ..contract.jsonin import UnfitValue, UnsafeJSON, find_nul, load_json
from ..contract.schemas import TranslationInSchema
from ..http.problems import flatten_errors
from ..inventory import FORMATS, detect_format
from ..rules import configured_limits, rule_errors
from . import i18n

_LIST_SEPARATORS = re.compile(r"[\s,;]+")
# Text facts a helpdesk agent may paste from an inventory tool.
PASTED_FACTS = ("cpe", "os_caption", "csd_version")
KNOWN_ROLES = ("vpn_server",)
# The form control where each fact is entered, for links from "facts needed to decide".
FACT_FIELDS = {
    **{name: name for name in ("product", "edition", "architecture", "service_pack")},
    **{name: name for name in ("ip_addresses", "installed_updates", *PASTED_FACTS)},
    "behind_nat": "behind_nat",
    "roles": f"role-{KNOWN_ROLES[0]}",
    "inventory_format": "inventory_format",
    "inventory_data": "inventory_data",
}
# The paste box's format choices: `auto` detects the format where that is unambiguous.
AUTO = "auto"
INVENTORY_FORMATS = (AUTO, *FORMATS)
# Facts a paste fills into the check form, each under the control of its name.
_FILLED = (
    "product",
    "edition",
    "architecture",
    "service_pack",
    "ip_addresses",
    "installed_updates",
)
MAX_PAGE = 10_000
MAX_SUMMARY = 1000  # as the API's schemas allow
# Numbers typed into forms and query strings: ASCII digits ("²".isdigit() is true, but
# int() refuses it), few enough for any page, service pack or id and for a database
# integer (int() refuses 4,301 of them; PostgreSQL's bigint, 20).
_MAX_DIGITS = 9

Errors = dict[str, list[str]]

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def end_of_day(value: str) -> dt.datetime | None:
    """The last instant (UTC) of the day a date field holds (`2007-03-31`); None if no date.

    "As it was on a day" means after everything published that day, as the site counts
    days in UTC.
    """
    if not _DATE.match(value):
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)


def split_list(value: str) -> list[str]:
    """`10.0.0.5, 192.168.1.2` or one per line → a list."""
    return [item for item in _LIST_SEPARATORS.split(value) if item]


def small_number(value: str) -> int | None:
    """`value` as a number when it is at most nine ASCII digits, else None."""
    if len(value) <= _MAX_DIGITS and value.isascii() and value.isdigit():
        return int(value)
    return None


def _int_or_raw(value: str) -> int | str:
    # A non-number is passed on as typed, for the domain's validation to name.
    stripped = value.strip()
    number = small_number(stripped)
    return stripped if number is None else number


@dataclass(frozen=True)
class SearchForm:
    """The search box and its product filters."""

    q: str = ""
    product: str = ""
    edition: str = ""
    architecture: str = ""
    service_pack: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> SearchForm:
        """The form as the query string gives it; a bad page number is page 1."""
        page = small_number(args.get("page", "1")) or 1
        return cls(
            q=args.get("q", "").strip(),
            product=args.get("product", ""),
            edition=args.get("edition", ""),
            architecture=args.get("architecture", ""),
            service_pack=args.get("service_pack", ""),
            page=min(page, MAX_PAGE),
        )

    @property
    def service_pack_number(self) -> int | None:
        """The service pack filter as a number; None when not set or not a number."""
        return small_number(self.service_pack)

    def filters(self) -> dict[str, Any]:
        """The applies-to filters of `list_articles` (a service pack must be a number)."""
        return {
            "product": self.product or None,
            "edition": self.edition or None,
            "architecture": self.architecture or None,
            "service_pack": self.service_pack_number,
        }

    @property
    def filtered(self) -> bool:
        """True when any filter is set."""
        return any(value is not None for value in self.filters().values())


def system_from_args(args: MultiDict[str, str]) -> dict[str, Any]:
    """The SYSTEM the check form describes; empty fields are facts not known."""
    raw: dict[str, Any] = {}
    for name in ("product", "edition", "architecture"):
        if args.get(name):
            raw[name] = args[name]
    if args.get("service_pack", "").strip():
        raw["service_pack"] = _int_or_raw(args["service_pack"])
    roles = [*args.getlist("role"), *split_list(args.get("roles", ""))]
    if roles:
        raw["roles"] = list(dict.fromkeys(roles))
    nat = args.get("behind_nat", "")
    if nat in ("yes", "no"):
        raw["behind_nat"] = nat == "yes"
    for name in ("ip_addresses", "installed_updates"):
        items = split_list(args.get(name, ""))
        if items:
            raw[name] = items
    for name in PASTED_FACTS:
        if args.get(name, "").strip():
            raw[name] = args[name].strip()
    return raw


@dataclass
class PasteForm:
    """What an agent pasted from an inventory tool, and the format chosen for it."""

    format: str = AUTO
    text: str = ""
    errors: Errors = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> PasteForm:
        """The paste as sent; an unknown format choice is left for `inventory` to name."""
        return cls(format=form.get("inventory_format", AUTO), text=form.get("inventory_data", ""))

    def inventory(self, max_depth: int) -> dict[str, Any] | None:
        """The SYSTEM's `inventory` the paste describes; None, with `errors` set, if none."""
        if not self.text.strip():
            self.errors["inventory_data"] = [i18n.text("check.paste_empty")]
            return None
        if self.format not in INVENTORY_FORMATS:
            self.errors["inventory_format"] = [i18n.text("check.paste_format_unknown")]
            return None
        parsed: Any = self.text
        if self.format != "systeminfo":
            try:
                parsed = load_json(self.text.encode(), max_depth)
            except UnsafeJSON as exc:
                # Auto-detection takes text that is no JSON for systeminfo's, unless it
                # looks like JSON that broke (a truncated paste).
                if self.format != AUTO or self.text.lstrip()[:1] in ("{", "["):
                    self.errors["inventory_data"] = [i18n.text("check.paste_not_json"), str(exc)]
                    return None
        chosen = detect_format(parsed) if self.format == AUTO else self.format
        if chosen is None:
            self.errors["inventory_format"] = [i18n.text("check.paste_format_unclear")]
            return None
        self.format = chosen
        return {"format": chosen, "data": self.text if chosen == "systeminfo" else parsed}

    def fact_errors(self, errors: Mapping[str, list[str]]) -> None:
        """Place the domain's `inventory.format` / `inventory.data` errors on the paste box."""
        for path, messages in errors.items():
            name = "inventory_format" if path == "inventory.format" else "inventory_data"
            self.errors.setdefault(name, []).extend(messages)


def filled_args(system: NormalizedSystem, kb: str | None) -> MultiDict[str, str]:
    """The check form's fields filled with the facts read from a paste (and the article)."""
    args: MultiDict[str, str] = MultiDict()
    for name in _FILLED:
        if name in system.facts:
            value = system.facts[name]
            args[name] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if kb:
        args["kb"] = kb
    return args


def from_inventory(system: NormalizedSystem) -> list[str]:
    """The facts the paste gave, in the order they were read."""
    return [name for name, source in system.derived.items() if source == INVENTORY]


def field_errors(errors: Mapping[str, list[str]]) -> Errors:
    """Errors by form field: `ip_addresses.1` is reported on `ip_addresses`."""
    by_field: Errors = {}
    for path, messages in errors.items():
        by_field.setdefault(path.split(".")[0] or "_form", []).extend(messages)
    return by_field


@dataclass(frozen=True)
class SectionRow:
    """One section's fields in the translation form."""

    heading: str
    body: str
    new: bool

    @property
    def lines(self) -> int:
        """A textarea height that shows the body without much scrolling."""
        return min(40, max(6, len(self.body) // 70 + self.body.count("\n") + 2))


@dataclass
class TranslationForm:
    """A locale's title and sections as typed, with the revision and draft it started from."""

    title: str
    sections: list[dict[str, str | None]]
    summary: str = ""
    base_revision_id: int | None = None
    draft_version: int = 0
    errors: Errors = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> TranslationForm:
        """The typed text; a section left empty is dropped."""
        sections = [
            {"heading": heading.strip() or None, "body": body}
            for heading, body in zip(form.getlist("heading"), form.getlist("body"), strict=False)
            if heading.strip() or body.strip()
        ]
        return cls(
            title=form.get("title", "").strip(),
            sections=sections,
            summary=form.get("summary", "").strip(),
            base_revision_id=_optional_int(form.get("base_revision_id")),
            draft_version=_optional_int(form.get("draft_version")) or 0,
        )

    def payload(self) -> dict[str, Any]:
        """The draft payload, as the API stores it."""
        return {"title": self.title, "sections": self.sections, "summary": self.summary}

    def rows(self, blanks: int) -> list[SectionRow]:
        """The sections to show, then `blanks` empty ones to add new sections without script."""
        rows = [SectionRow(s["heading"] or "", s["body"] or "", new=False) for s in self.sections]
        return rows + [SectionRow("", "", new=True) for _ in range(blanks)]

    def validate(self) -> bool:
        """Check lengths and required fields with the API's own schema, and for NULs."""
        payload = self.payload()
        try:
            TranslationInSchema().load(payload)
        except ValidationError as exc:
            self.errors = field_errors(flatten_errors(exc.messages))
        _refuse_nul(payload, self.errors)
        return not self.errors


@dataclass
class RulesForm:
    """A rule document as typed JSON, with the revision and draft it started from."""

    text: str
    summary: str = ""
    base_revision_id: int | None = None
    draft_version: int = 0
    rules: dict[str, Any] | None = None
    errors: Errors = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> RulesForm:
        """The typed JSON, not yet parsed."""
        return cls(
            text=form.get("rules", ""),
            summary=form.get("summary", "").strip(),
            base_revision_id=_optional_int(form.get("base_revision_id")),
            draft_version=_optional_int(form.get("draft_version")) or 0,
        )

    @staticmethod
    def dump(rules: Mapping[str, Any] | None) -> str:
        """A rule document as editable JSON."""
        return json.dumps(rules, ensure_ascii=False, indent=2) if rules is not None else ""

    def payload(self) -> dict[str, Any]:
        """The draft payload, as the API stores it."""
        return {"rules": self.rules, "summary": self.summary}

    def validate(self, config: Mapping[str, Any]) -> bool:
        """Parse the JSON (depth-limited, like the API) and check it against the rule language."""
        if len(self.summary) > MAX_SUMMARY:
            self.errors["summary"] = [f"Longer than maximum length {MAX_SUMMARY}."]
        _refuse_nul({"summary": self.summary}, self.errors)
        try:
            parsed = load_json(self.text.encode(), config["MAX_JSON_DEPTH"])
        except UnfitValue as exc:
            where = "(root)" if exc.path == "_body" else exc.path
            self.errors["rules"] = [f"{where}: {exc.message}"]
            return False
        except UnsafeJSON as exc:
            self.errors["rules"] = [str(exc)]
            return False
        if not isinstance(parsed, dict):
            self.errors["rules"] = ["A rule document is a JSON object."]
            return False
        errors = rule_errors(parsed, configured_limits(config))
        if errors:
            self.errors["rules"] = [
                f"{path or '(root)'}: {' '.join(messages)}" for path, messages in errors.items()
            ]
        self.rules = parsed
        return not self.errors


def _optional_int(value: str | None) -> int | None:
    return small_number(value) if value else None


def _refuse_nul(fields: dict[str, Any], errors: Errors) -> None:
    # Form text is not JSON, but PostgreSQL cannot store a NUL in it either.
    unfit = find_nul(fields)
    if unfit is not None:
        for name, messages in field_errors({unfit.path: [unfit.message]}).items():
            errors.setdefault(name, []).extend(messages)


@dataclass(frozen=True)
class Choice:
    """One option of a select: its value and label."""

    value: str
    label: str


@dataclass(frozen=True)
class ProductChoices:
    """One product's options for the product, edition, architecture and service pack selects."""

    id: str
    name: str
    editions: tuple[Choice, ...]
    architectures: tuple[Choice, ...]
    service_packs: tuple[Choice, ...]


def product_choices(catalog: Catalog, locale: str) -> list[ProductChoices]:
    """Every catalog product with its localized options."""
    return [
        ProductChoices(
            id=product.id,
            name=localized(product.names, locale),
            editions=tuple(Choice(e.id, localized(e.names, locale)) for e in product.editions),
            architectures=tuple(
                Choice(a.id, localized(a.names, locale)) for a in product.architecture_details
            ),
            service_packs=tuple(Choice(str(sp.number), sp.name) for sp in product.service_packs),
        )
        for product in catalog.products
    ]
