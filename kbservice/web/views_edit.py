"""Editing in the browser: a translation or the rules, saved as a draft or published.

When someone else published (or saved the draft) first, the page shows their version beside
the editor's typed text, which is kept as typed: nothing is lost, nothing is overwritten.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from flask import Response, current_app, flash, g, redirect, request, url_for
from sqlalchemy.orm import Session

from ..applicability.examples import judge_examples
from ..articles import audit, drafts, reading, revisions
from ..articles.reading import ArticleSnapshot, Section
from ..errors import NotFound, PreconditionFailed
from ..http.context import get_catalog, get_database, get_primary_session
from ..rules import compile_rules
from . import i18n
from .auth import actor, editor_required
from .base import bp, render
from .forms import RulesForm, TranslationForm

# A form without a base revision can only be stale: no revision has id 0.
_NO_BASE = 0


@dataclass(frozen=True)
class Theirs:
    """What someone else saved first, shown beside the editor's own text."""

    source: str  # "revision" or "draft"
    author: str
    at: dt.datetime
    number: str | None = None
    title: str = ""
    sections: tuple[Section, ...] = ()
    rules: str = ""
    differences: tuple[str, ...] = ()


def _as_text(title: str, sections: Sequence[Section | Mapping[str, Any]]) -> str:
    """A translation as one text, so that two versions can be compared line by line."""
    lines = [f"# {title}"]
    for section in sections:
        heading, body = (
            (section.heading, section.body)
            if isinstance(section, Section)
            else (section.get("heading"), section.get("body") or "")
        )
        lines += ["", f"## {heading}" if heading else "##", body]
    return "\n".join(lines)


def _differences(theirs: Theirs, form: TranslationForm | RulesForm) -> tuple[str, ...]:
    """The changes from their version to the typed one, as unified diff lines."""
    if isinstance(form, RulesForm):
        before, after = theirs.rules, form.text
    else:
        before, after = _as_text(theirs.title, theirs.sections), _as_text(form.title, form.sections)
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1)
    return tuple(line for line in lines if not line.startswith(("---", "+++")))


def _fresh_article(kb: str) -> ArticleSnapshot:
    # A new session: the request's own may still see the database as it was before the write.
    with get_database().session() as session:
        return reading.get_article(session, kb)


def _slot(session: Session, kb: str, kind: str, locale: str) -> drafts.DraftInfo | None:
    """The draft in the slot (article, kind, locale), if any."""
    return next(
        (
            d
            for d in drafts.list_drafts(session, kb)
            if d.kind == kind and (d.locale or "") == locale
        ),
        None,
    )


def _fresh_slot(kb: str, kind: str, locale: str) -> drafts.DraftInfo | None:
    with get_database().session() as session:
        return _slot(session, kb, kind, locale)


def _configured(locale: str) -> str:
    if locale not in current_app.config["LOCALES"]:
        raise NotFound(f"Locale {locale!r} is not configured.")
    return locale


def _save_draft(
    kb: str, kind: str, locale: str, payload: dict[str, Any], base: int | None, version: int
) -> None:
    # version 0 means "there was no draft": then a colleague's new draft is not overwritten.
    with get_database().write() as session:
        info, _ = drafts.save_draft(
            session,
            kb,
            kind,
            payload,
            author=g.editor.name,
            base_revision_id=base,
            locale=locale,
            expected_version=version,
        )
        audit.record(session, actor(), f"draft.save.{kind}", kb=info.kb, details={"id": info.id})


def _discard_draft(kb: str, kind: str, locale: str, version: int) -> bool:
    """Discard the slot's draft if it is still the version the editor saw."""
    with get_database().write() as session:
        draft = _slot(session, kb, kind, locale)
        if draft is None or draft.version != version:
            return False
        drafts.discard_draft(session, draft.id)
        audit.record(session, actor(), "draft.discard", kb=draft.kb, details={"id": draft.id})
    return True


def _publish(
    kb: str,
    kind: str,
    locale: str,
    form: TranslationForm | RulesForm,
    change: revisions.Change,
    summary: str,
    action: str,
) -> ArticleSnapshot:
    """Publish one revision on the form's base; the draft the editor loaded goes away."""
    with get_database().write() as session:
        snapshot = revisions.publish_recorded(
            session,
            kb,
            form.base_revision_id or _NO_BASE,
            change,
            actor=actor(),
            summary=summary,
            action=action,
        )
        draft = _slot(session, kb, kind, locale)
        if draft is not None and draft.version == form.draft_version:
            drafts.discard_draft(session, draft.id)
    return snapshot


def _theirs_published(snapshot: ArticleSnapshot, locale: str) -> Theirs:
    text = snapshot.texts.get(locale)
    return Theirs(
        source="revision",
        author=snapshot.revision.author,
        at=snapshot.revision.created_at,
        number=snapshot.revision.number,
        title=text.title if text else "",
        sections=text.sections if text else (),
        rules=RulesForm.dump(snapshot.rules),
    )


def _theirs_draft(draft: drafts.DraftInfo) -> Theirs:
    payload = draft.payload
    return Theirs(
        source="draft",
        author=draft.author,
        at=draft.updated_at,
        title=payload.get("title", ""),
        sections=tuple(Section(s.get("heading"), s["body"]) for s in payload.get("sections", ())),
        rules=RulesForm.dump(payload.get("rules")),
    )


def _run(
    kb: str,
    kind: str,
    locale: str,
    form: TranslationForm | RulesForm,
    publish: Callable[[], ArticleSnapshot],
    page: Callable[..., tuple[str, int]],
) -> Response | tuple[str, int]:
    """The POST flow both editors share: discard, save a draft, or publish; conflicts re-render."""
    action = request.form.get("action", "draft")
    here = request.path
    if action == "discard":
        discarded = _discard_draft(kb, kind, locale, form.draft_version)
        flash(i18n.text("edit.discarded" if discarded else "edit.not_discarded"))
        return redirect(here, 303)
    if not form.errors and (action == "draft" or action == "publish"):
        try:
            if action == "draft":
                _save_draft(
                    kb, kind, locale, form.payload(), form.base_revision_id, form.draft_version
                )
                flash(i18n.text("edit.draft_saved"))
                return redirect(here, 303)
            snapshot = publish()
        except PreconditionFailed:
            return _conflict(kb, kind, locale, form, action, page)
        flash(i18n.text("edit.published", number=snapshot.revision.number))
        return redirect(url_for("web.article", kb=snapshot.kb, locale=locale or None), 303)
    return page(form, 422 if form.errors else 400)


def _conflict(
    kb: str,
    kind: str,
    locale: str,
    form: TranslationForm | RulesForm,
    action: str,
    page: Callable[..., tuple[str, int]],
) -> tuple[str, int]:
    """Show what was saved first beside the typed text; the next submit builds on it."""
    current = _fresh_article(kb)
    draft = _fresh_slot(kb, kind, locale) if action == "draft" else None
    if draft is not None and draft.version != form.draft_version:
        form.draft_version = draft.version
        theirs = _theirs_draft(draft)
    else:
        theirs = _theirs_published(current, locale or current.source_locale)
    form.base_revision_id = current.revision_id
    return page(form, 409, theirs=replace(theirs, differences=_differences(theirs, form)))


@bp.route("/kb/<kb>/edit/translation/<locale>", methods=["GET", "POST"])
@editor_required
def edit_translation(kb: str, locale: str) -> Response | tuple[str, int]:
    """Edit one locale's title and sections."""
    locale = _configured(locale)
    snapshot = reading.get_article(get_primary_session(), kb)
    draft = _slot(get_primary_session(), snapshot.kb, "translation", locale)

    source = snapshot.texts[snapshot.source_locale] if locale != snapshot.source_locale else None

    def page(form: TranslationForm, status: int = 200, theirs: Theirs | None = None) -> Any:
        # A new translation opens with as many empty sections as the original has.
        blanks = 1 if form.sections or source is None else len(source.sections)
        return render(
            "edit_translation.html",
            status,
            article=snapshot,
            locale=locale,
            form=form,
            rows=form.rows(blanks),
            draft=draft,
            theirs=theirs,
            source=source,
        )

    if request.method == "GET":
        return page(_translation_form(snapshot, locale, draft))
    form = TranslationForm.from_form(request.form)
    if request.form.get("action") != "discard":
        form.validate()
    existed = locale in snapshot.texts
    summary = form.summary or f"{'Updated' if existed else 'Added'} {locale} text"

    def publish() -> ArticleSnapshot:
        change = revisions.Change(texts={locale: (form.title, form.sections)})
        return _publish(
            snapshot.kb, "translation", locale, form, change, summary, "translation.put"
        )

    return _run(snapshot.kb, "translation", locale, form, publish, page)


def _check_examples(form: RulesForm, snapshot: ArticleSnapshot) -> None:
    """Refuse rules that give one of the article's examples another verdict, in the UI language."""
    if form.errors or form.rules is None:
        return
    rule = compile_rules(form.rules, validate=False)
    results = judge_examples(rule, snapshot.examples, get_catalog())
    failing = [
        i18n.text(
            "builder.refused_example",
            name=r.name,
            expect=i18n.text(f"verdict.{r.expect}"),
            verdict=i18n.text(f"verdict.{r.verdict}"),
        )
        for r in results
        if not r.ok
    ]
    if failing:
        form.errors["rules"] = [i18n.text("builder.refused"), *failing]


def _translation_form(
    snapshot: ArticleSnapshot, locale: str, draft: drafts.DraftInfo | None
) -> TranslationForm:
    """The form as it opens: the saved draft, else the published text, else empty."""
    if draft is not None:
        payload = draft.payload
        return TranslationForm(
            title=payload["title"],
            sections=list(payload["sections"]),
            summary=payload.get("summary", ""),
            base_revision_id=draft.base_revision_id,
            draft_version=draft.version,
        )
    text = snapshot.texts.get(locale)
    return TranslationForm(
        title=text.title if text else "",
        sections=[{"heading": s.heading, "body": s.body} for s in text.sections] if text else [],
        base_revision_id=snapshot.revision_id,
    )


@bp.route("/kb/<kb>/edit/rules", methods=["GET", "POST"])
@editor_required
def edit_rules(kb: str) -> Response | tuple[str, int]:
    """Edit the rule document as JSON (docs/rules.md)."""
    snapshot = reading.get_article(get_primary_session(), kb)
    draft = _slot(get_primary_session(), snapshot.kb, "rules", "")

    def page(form: RulesForm, status: int = 200, theirs: Theirs | None = None) -> Any:
        return render(
            "edit_rules.html", status, article=snapshot, form=form, draft=draft, theirs=theirs
        )

    if request.method == "GET":
        if draft is not None:
            form = RulesForm(
                text=RulesForm.dump(draft.payload.get("rules")),
                summary=draft.payload.get("summary", ""),
                base_revision_id=draft.base_revision_id,
                draft_version=draft.version,
            )
        else:
            form = RulesForm(
                text=RulesForm.dump(snapshot.rules), base_revision_id=snapshot.revision_id
            )
        return page(form)
    form = RulesForm.from_form(request.form)
    if request.form.get("action") != "discard":
        form.validate(current_app.config)
    # A stale form gets the conflict page instead: the examples may have changed too.
    current = form.base_revision_id == snapshot.revision_id
    if request.form.get("action") == "publish" and form.rules is not None and current:
        _check_examples(form, snapshot)

    def publish() -> ArticleSnapshot:
        change = revisions.Change(rules=form.rules)
        return _publish(
            snapshot.kb, "rules", "", form, change, form.summary or "Rules", "rules.put"
        )

    return _run(snapshot.kb, "rules", "", form, publish, page)
