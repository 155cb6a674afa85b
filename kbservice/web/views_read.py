"""Reading: search, an article in a locale, an old revision, and a diff of two revisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, g, redirect, request, url_for

from ..access.tokens import Role
from ..articles import history, reading
from ..contract.presenters import applies_to_body, notices_body
from ..errors import NotFound
from ..http.context import get_catalog
from ..search import listing
from ..storage.db import utcnow
from ..systems import registry
from . import i18n
from .auth import reading_session
from .base import bp, render
from .forms import SearchForm, end_of_day, product_choices

PER_PAGE = 20
# Registered systems an admin sees listed on an article page (the API pages through all).
SYSTEMS_SHOWN = 100


@dataclass(frozen=True)
class Related:
    """A related article: its number and, when this knowledge base has it, its title."""

    kb: str
    title: str | None
    locale: str | None


def _exists(kb: str) -> bool:
    try:
        reading.find_article(reading_session(), kb)
    except NotFound:
        return False
    return True


@bp.get("/")
def search() -> Response | tuple[str, int]:
    """One search box with product filters; a KB number goes straight to its article."""
    form = SearchForm.from_args(request.args)
    number = reading.normalize_kb(form.q) if form.q else None
    if number is not None and _exists(number):
        return redirect(url_for("web.article", kb=number), 303)
    error = None
    if len(form.q) > current_app.config["MAX_QUERY_LENGTH"]:
        error = i18n.text("search.too_long", limit=current_app.config["MAX_QUERY_LENGTH"])
    elif form.service_pack and form.service_pack_number is None:
        error = i18n.text("search.bad_service_pack")
    results = None
    if error is None:
        results = listing.list_articles(
            reading_session(),
            q=form.q or None,
            locale=g.ui_locale,
            page=form.page,
            per_page=PER_PAGE,
            **form.filters(),
        )
    return render(
        "search.html",
        200 if error is None else 400,
        form=form,
        error=error,
        results=results,
        per_page=PER_PAGE,
        products=product_choices(get_catalog(), g.ui_locale),
    )


def _related(kbs: tuple[str, ...], locale: str) -> list[Related]:
    related = []
    for kb in kbs:
        try:
            other = reading.get_article(reading_session(), kb)
        except NotFound:
            related.append(Related(kb, None, None))
            continue
        text = other.text(locale)
        related.append(Related(other.kb, text.title, text.locale))
    return related


def _article_page(
    snapshot: reading.ArticleSnapshot,
    current: reading.ArticleSnapshot | None,
    as_of: str | None = None,
    status: int = 200,
    as_of_error: str | None = None,
) -> tuple[str, int]:
    """The article page for `snapshot`; `current` is set when it is an old revision.

    With `as_of` (a date), the page shows the article as it was at the end of that day,
    lifecycle notices included.
    """
    locale = g.ui_locale
    text = snapshot.text(locale)
    catalog = get_catalog()
    when = end_of_day(as_of) if as_of else None
    day = when.date() if when is not None else utcnow().date()
    return render(
        "article.html",
        status,
        article=snapshot,
        text=text,
        missing_locale=locale if locale != text.locale else None,
        outdated=snapshot.is_outdated(text.locale),
        applies_to=[applies_to_body(e, catalog, locale) for e in snapshot.applies_to],
        notices=notices_body(snapshot.applies_to, catalog, locale, day),
        related=_related(snapshot.related, locale),
        revisions=reading.list_revisions(reading_session(), snapshot.kb),
        current=current,
        locales=current_app.config["LOCALES"],
        registered=_registered(snapshot) if current is None else None,
        as_of=as_of,
        as_of_error=as_of_error,
    )


def _registered(snapshot: reading.ArticleSnapshot) -> dict[str, Any] | None:
    """Signed-in editors see how many registered systems the article applies to; admins which."""
    editor = g.get("editor")
    if editor is None:
        return None
    session = reading_session()
    counts = registry.verdict_counts(session, snapshot.article_id)
    shown = None
    if editor.role is Role.ADMIN:
        rows, _ = registry.article_systems(
            session, snapshot.article_id, "applies", page=1, per_page=SYSTEMS_SHOWN
        )
        shown = [system_id for system_id, _ in rows]
    return {**counts, "shown": shown, "more": counts["applies"] - len(shown or ())}


@bp.get("/kb/<kb>")
def article(kb: str) -> Response | tuple[str, int]:
    """The current revision of an article in the page's locale."""
    number = reading.normalize_kb(kb)
    if number is not None and number != kb:
        query = request.query_string.decode()
        target = url_for("web.article", kb=number)
        return redirect(f"{target}?{query}" if query else target, 301)
    session = reading_session()
    current = reading.get_article(session, kb)
    as_of = request.args.get("as_of", "").strip()
    if not as_of:
        return _article_page(current, None)
    when = end_of_day(as_of)
    if when is None:
        return _article_page(current, None, status=400, as_of_error=i18n.text("article.bad_date"))
    try:
        then = reading.get_revision_as_of(session, kb, when)
    except NotFound:
        return _article_page(
            current, None, status=404, as_of_error=i18n.text("article.not_yet", date=as_of)
        )
    return _article_page(then, current if current.revision_id != then.revision_id else None, as_of)


@bp.get("/kb/<kb>/revisions/<number>")
def revision(kb: str, number: str) -> tuple[str, int]:
    """An article exactly as it was at one revision."""
    session = reading_session()
    snapshot = reading.get_revision(session, kb, number)
    current = reading.get_article(session, kb)
    return _article_page(snapshot, current if current.revision_id != snapshot.revision_id else None)


@bp.get("/kb/<kb>/diff")
def diff(kb: str) -> tuple[str, int]:
    """What changed between two revisions (default: the current one and the one before)."""
    session = reading_session()
    revisions = reading.list_revisions(session, kb)
    numbers = [revision.number for revision in revisions]
    to = request.args.get("to") or numbers[0]
    position = numbers.index(to) if to in numbers else 0
    default_from = numbers[min(position + 1, len(numbers) - 1)]
    from_ = request.args.get("from") or default_from
    old = reading.get_revision(session, kb, from_)
    new = reading.get_revision(session, kb, to)
    return render(
        "diff.html",
        kb=new.kb,
        title=new.text(g.ui_locale).title,
        changes=history.diff(old, new),
        old=old,
        new=new,
        revisions=revisions,
    )
