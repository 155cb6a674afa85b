"""'Does this apply to my system?': the facts of one system against one or every article."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from werkzeug.datastructures import MultiDict

from ..applicability.index import Assessment, RuleEntry, assess
from ..catalog.facts import FactsValidationError, NormalizedSystem, normalize_system
from ..errors import NotFound
from ..http.context import get_catalog, get_rule_index, get_rule_index_as_of
from . import i18n
from .base import bp, render
from .forms import (
    FACT_FIELDS,
    INVENTORY_FORMATS,
    KNOWN_ROLES,
    PasteForm,
    end_of_day,
    field_errors,
    filled_args,
    from_inventory,
    product_choices,
    system_from_args,
)

# Query parameters that only steer the page; any other one means the form was sent.
_PAGE_ARGS = {"locale", "kb", "as_of"}


@bp.get("/check")
def check() -> tuple[str, int]:
    """The form, and with facts given, the verdict for each article with reasons."""
    args = request.args
    errors: dict[str, list[str]] = {}
    as_of = args.get("as_of", "").strip()
    when = end_of_day(as_of) if as_of else None
    if as_of and when is None:
        errors["as_of"] = [i18n.text("check.bad_date")]
    # With a date, every article is judged by its revision current at the end of that day.
    index = get_rule_index() if when is None else get_rule_index_as_of(when)
    requested: list[RuleEntry] | None = None
    kb = args.get("kb", "").strip()
    if kb:
        try:
            requested = index.resolve([kb])
        except NotFound:
            errors["kb"] = [i18n.text("check.unknown_kb", kb=kb)]
    submitted = any(
        value.strip() for name, value in args.items(multi=True) if name not in _PAGE_ARGS
    )
    system: NormalizedSystem | None = None
    results: list[Assessment] | None = None
    if submitted and not errors:
        try:
            system = normalize_system(system_from_args(args), get_catalog())
        except FactsValidationError as exc:
            errors = field_errors(exc.errors)
        else:
            results = assess(index, system, requested=requested)
    return _page(args, requested, errors, system, results, PasteForm(), as_of if when else None)


@bp.post("/check")
def check_paste() -> tuple[str, int]:
    """Read what an inventory tool printed, fill the form with its facts and give verdicts."""
    paste = PasteForm.from_form(request.form)
    index = get_rule_index()
    kb = request.form.get("kb", "").strip()
    requested = index.resolve([kb]) if kb else None
    inventory = paste.inventory(current_app.config["MAX_JSON_DEPTH"])
    system: NormalizedSystem | None = None
    results: list[Assessment] | None = None
    if inventory is not None:
        try:
            system = normalize_system({"inventory": inventory}, get_catalog())
        except FactsValidationError as exc:
            paste.fact_errors(exc.errors)
        else:
            results = assess(index, system, requested=requested)
    args = filled_args(system, kb) if system is not None else MultiDict({"kb": kb} if kb else {})
    return _page(args, requested, paste.errors, system, results, paste)


def _page(
    args: Any,
    requested: list[RuleEntry] | None,
    errors: dict[str, list[str]],
    system: NormalizedSystem | None,
    results: list[Assessment] | None,
    paste: PasteForm,
    as_of: str | None = None,
) -> tuple[str, int]:
    return render(
        "check.html",
        422 if errors else 200,
        args=args,
        article=requested[0] if requested else None,
        errors=errors,
        system=system,
        results=results,
        products=product_choices(get_catalog(), g.ui_locale),
        known_roles=KNOWN_ROLES,
        fact_fields=FACT_FIELDS,
        paste=paste,
        inventory_formats=INVENTORY_FORMATS,
        from_paste=from_inventory(system) if system is not None else [],
        as_of=as_of,
    )
