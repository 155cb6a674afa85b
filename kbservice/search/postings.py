"""Reading postings: the documents that hold several terms, and phrases on positions."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import and_, bindparam, select

from ..fulltext.models import SearchPosting

_postings = SearchPosting.__table__


def documents_with(
    ordered: Sequence[str], positional: set[str], allowed: Any
) -> tuple[Any, dict[str, str]]:
    """The query for the documents that hold every term, and its parameters.

    Each row is: article id, locale, KB number, title length, body length, then per term
    its impact, followed by its title and body positions if the term is in `positional`.
    The first term drives the join (make it the rarest); the others are primary-key
    lookups. `allowed`, if given, is a subquery of the article ids to keep.
    """
    query, driver_article = _join_shape(tuple(term in positional for term in ordered))
    if allowed is not None:
        query = query.where(driver_article.in_(allowed))
    return query, {f"term_{index}": term for index, term in enumerate(ordered)}


@functools.lru_cache(maxsize=256)
def _join_shape(positional: tuple[bool, ...]) -> tuple[Any, Any]:
    # Queries differ only in how many terms they join and which bring positions: building
    # each shape once spares the aliases' construction on every search.
    aliases = [_postings.alias(f"p{index}") for index in range(len(positional))]
    driver = aliases[0]
    columns: list[Any] = [
        driver.c.article_id,
        driver.c.locale,
        driver.c.kb,
        driver.c.title_length,
        driver.c.body_length,
    ]
    joined: Any = driver
    for index, (alias, with_positions) in enumerate(zip(aliases, positional, strict=True)):
        columns.append(alias.c.impact)
        if with_positions:
            columns += [alias.c.title_positions, alias.c.body_positions]
        if alias is not driver:
            joined = joined.join(
                alias,
                and_(
                    alias.c.term == bindparam(f"term_{index}"),
                    alias.c.article_id == driver.c.article_id,
                    alias.c.locale == driver.c.locale,
                ),
            )
    query = select(*columns).select_from(joined).where(driver.c.term == bindparam("term_0"))
    return query, driver.c.article_id


def phrase_counts(spec: Sequence[tuple[int, int]], row: Sequence[Any]) -> tuple[int, int]:
    """How often a phrase occurs in the title and in the body of one row's document.

    `spec` pairs each term's offset in the phrase (the first is 0) with its impact
    column; the title's and the body's positions follow that column.
    """
    return phrase_counter(spec)(row)


PhraseCounter = Callable[[Sequence[Any]], tuple[int, int]]


def phrase_counter(spec: Sequence[tuple[int, int]]) -> PhraseCounter:
    """phrase_counts for one `spec`, prepared once for the many rows of a query."""
    # itemgetter picks a field's position lists in one C call: this runs once per row.
    title = _picker([column + 1 for _, column in spec])
    body = _picker([column + 2 for _, column in spec])
    offsets = [offset - spec[0][0] for offset, _ in spec[1:]]

    def count(row: Sequence[Any]) -> tuple[int, int]:
        return _occurrences(title(row), offsets), _occurrences(body(row), offsets)

    return count


def _picker(columns: Sequence[int]) -> Callable[[Sequence[Any]], tuple[str, ...]]:
    """The values of `columns` of a row, as a tuple (itemgetter of one column is no tuple)."""
    if len(columns) == 1:
        (column,) = columns
        return lambda row: (row[column],)
    return itemgetter(*columns)


def _occurrences(texts: Sequence[str], offsets: Sequence[int]) -> int:
    """How many positions of the first list have each other term at its offset."""
    # A field that lacks one of the terms cannot hold the phrase.
    if "" in texts:
        return 0
    rest = iter(texts)
    starts = [int(position) for position in next(rest).split()]
    for offset, text in zip(offsets, rest, strict=True):
        # A term has a few positions per document: a substring test beats building a set.
        padded = f" {text} "
        starts = [start for start in starts if f" {start + offset} " in padded]
        if not starts:
            return 0
    return len(starts)
