"""Reading postings: the documents that hold several terms, and phrases on positions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select

from .models import SearchPosting

_postings = SearchPosting.__table__


def documents_with(ordered: Sequence[str], positional: set[str], allowed: Any) -> Any:
    """A query for the documents that hold every term, with each term's posting.

    Each row is: article id, locale, KB number, title length, body length, then per term
    its impact, followed by its title and body positions if the term is in `positional`.
    The first term drives the join (make it the rarest); the others are primary-key
    lookups. `allowed`, if given, is a subquery of the article ids to keep.
    """
    aliases = [_postings.alias(f"p{index}") for index in range(len(ordered))]
    driver = aliases[0]
    columns: list[Any] = [
        driver.c.article_id,
        driver.c.locale,
        driver.c.kb,
        driver.c.title_length,
        driver.c.body_length,
    ]
    joined: Any = driver
    for term, alias in zip(ordered, aliases, strict=True):
        columns.append(alias.c.impact)
        if term in positional:
            columns += [alias.c.title_positions, alias.c.body_positions]
        if alias is not driver:
            joined = joined.join(
                alias,
                and_(
                    alias.c.term == term,
                    alias.c.article_id == driver.c.article_id,
                    alias.c.locale == driver.c.locale,
                ),
            )
    query = select(*columns).select_from(joined).where(driver.c.term == ordered[0])
    if allowed is not None:
        query = query.where(driver.c.article_id.in_(allowed))
    return query


def phrase_counts(spec: Sequence[tuple[int, int]], row: Sequence[Any]) -> tuple[int, int]:
    """How often a phrase occurs in the title and in the body of one row's document.

    `spec` pairs each term's offset in the phrase (the first is 0) with its impact
    column; the title's and the body's positions follow that column.
    """
    counts = [0, 0]
    for field in (1, 2):
        texts = [row[column + field] for _, column in spec]
        # A field that lacks one of the terms cannot hold the phrase.
        if "" in texts:
            continue
        starts = list(map(int, texts[0].split()))
        for (offset, _), text in zip(spec[1:], texts[1:], strict=True):
            present = set(map(int, text.split()))
            starts = [start for start in starts if start + offset in present]
            if not starts:
                break
        counts[field - 1] = len(starts)
    return counts[0], counts[1]
