"""Previewing proposed rules: their examples' verdicts and the registered systems they change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..articles.reading import get_article
from ..catalog.products import Catalog
from ..errors import ValidationFailed
from ..rules import CompiledRule, compile_rules
from .examples import ExampleResult, example_errors, judge_examples


@dataclass(frozen=True)
class SystemChange:
    """A registered system whose verdict would change."""

    system: str
    verdict: str
    previous_verdict: str


@dataclass(frozen=True)
class SystemImpact:
    """How many registered systems would get another verdict, and the first of them."""

    changed: int
    changes: tuple[SystemChange, ...]


def registered_system_changes(session: Session, kb: str, proposed: CompiledRule) -> SystemImpact:
    """Registered systems whose verdict on `kb` would change under `proposed` rules.

    No registered systems are stored yet (they arrive with issue 20), so none can change;
    that work connects here, comparing each system's stored verdict with `proposed`'s.
    """
    return SystemImpact(changed=0, changes=())


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
        systems=registered_system_changes(session, snapshot.kb, proposed),
    )
