"""Previewing proposed rules: their examples' verdicts and the registered systems they change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..articles.reading import get_article
from ..catalog.products import Catalog
from ..errors import ValidationFailed
from ..notify.outbox import VerdictChange
from ..rules import compile_rules
from ..systems.reevaluate import preview_changes
from .examples import ExampleResult, example_errors, judge_examples

# The changes a preview lists; `changed` counts them all.
CHANGES_SHOWN = 20


@dataclass(frozen=True)
class SystemImpact:
    """How many registered systems would get another verdict, and the first of them."""

    changed: int
    changes: tuple[VerdictChange, ...]


def registered_system_changes(session: Session, kb: str, rules: Mapping[str, Any]) -> SystemImpact:
    """Registered systems whose stored verdict on `kb` the proposed `rules` would change."""
    changes = preview_changes(session, kb, dict(rules))
    return SystemImpact(changed=len(changes), changes=tuple(changes[:CHANGES_SHOWN]))


@dataclass(frozen=True)
class RulesPreview:
    """What proposed rules would do to an article's examples and registered systems."""

    examples: list[ExampleResult]
    systems: SystemImpact


def preview_rules(
    session: Session,
    kb: str,
    rules: Mapping[str, Any],
    examples: Sequence[Mapping[str, Any]] | None,
    catalog: Catalog,
) -> RulesPreview:
    """Judge `examples` (None: the article's current ones) by validated `rules`; writes nothing."""
    snapshot = get_article(session, kb)
    chosen = list(snapshot.examples if examples is None else examples)
    shape = example_errors(chosen)
    if shape:
        raise ValidationFailed(
            "The examples are invalid: " + ", ".join(sorted(shape)) + ".", errors=shape
        )
    proposed = compile_rules(dict(rules), validate=False)
    return RulesPreview(
        examples=judge_examples(proposed, chosen, catalog),
        systems=registered_system_changes(session, snapshot.kb, rules),
    )
