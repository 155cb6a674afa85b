"""Tokens to what each engine indexes, and query phrases to each engine's syntax (pure).

Both engines index the same tokens at the same positions (kbservice.fulltext.tokenizer),
so they match the same documents:

- PostgreSQL gets a `tsvector` literal: each term with its positions (1-based; the body
  follows the title after a section gap) and weight `A` in the title. A tsvector keeps at
  most 256 positions per term and positions up to 16,383, so both engines index only
  those tokens (`indexed`); a longer document is searched on its first 16,383 positions.
- SQLite FTS5 (`tokenize='ascii'`, which keeps every non-ASCII character and our already
  folded ASCII terms as they are) gets the terms as space-separated text, one column per
  field. FTS5 numbers tokens consecutively, so a gap between runs becomes one FILLER token
  and a section break one SECTION token; a token left out becomes a DROPPED token, which
  keeps its neighbours apart. Queries contain FILLER where a phrase crosses from a word to
  a CJK run; they never contain SECTION or DROPPED.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from .tokenizer import RUN_GAP, SEGMENT_GAP, Token

# Private-use characters: never a term (the tokenizer's words and runs exclude them).
FILLER = "\ue000"
SECTION = "\ue001"
DROPPED = "\ue002"
# PostgreSQL's tsvector limits (docs: "Text Search Types").
MAX_POSITION = 16383
MAX_POSITIONS_PER_TERM = 256
# A match in the title is weighed by the engines' title weights (ranking.py).
TITLE_LABEL = "A"

# A field's tokens, each with whether a tsvector can hold it (else it is left out).
Field = list[tuple[Token, bool]]


def indexed(title: Sequence[Token], body: Sequence[Token]) -> tuple[Field, Field, int]:
    """Both fields' tokens, marked where a tsvector could not hold one; how many are kept.

    The body is cut at the first token past MAX_POSITION (counted after the title).
    """
    body_start = body_offset(title)
    counts: dict[str, int] = {}
    kept = 0
    fields: list[Field] = []
    for tokens, start in ((title, 0), (body, body_start)):
        field: Field = []
        for token in tokens:
            if token.position + start + 1 > MAX_POSITION:
                break
            seen = counts.get(token.term, 0)
            counts[token.term] = seen + 1
            field.append((token, seen < MAX_POSITIONS_PER_TERM))
            kept += seen < MAX_POSITIONS_PER_TERM
        fields.append(field)
    return fields[0], fields[1], kept


def body_offset(title: Sequence[Token]) -> int:
    """Where the body's positions start in a document's tsvector (0-based)."""
    return (title[-1].position + 1 if title else 0) + SEGMENT_GAP


def fts5_text(field: Field) -> str:
    """One field as FTS5 text: the terms in order, run gaps and section breaks marked."""
    words: list[str] = []
    previous: int | None = None
    for token, kept in field:
        if previous is not None:
            gap = token.position - previous - 1
            if gap > RUN_GAP:
                words.append(SECTION)
            elif gap > 0:
                words.append(FILLER)
        words.append(token.term if kept else DROPPED)
        previous = token.position
    return " ".join(words)


def tsvector_literal(title: Field, body: Field) -> str:
    """Both fields as a tsvector literal: title positions weighted A, the body's after them."""
    body_start = body_offset([token for token, _ in title])
    positions: dict[str, list[str]] = {}
    for field, start, label in ((title, 1, TITLE_LABEL), (body, body_start + 1, "")):
        for token, kept in field:
            if kept:
                positions.setdefault(token.term, []).append(f"{token.position + start}{label}")
    return " ".join(f"{quote(term)}:{','.join(found)}" for term, found in positions.items())


def fts5_phrase(terms: Sequence[tuple[int, str]]) -> str:
    """A phrase (terms at offsets, as the parser gives them) as an FTS5 string.

    The parser checks a CJK run on every other bigram; FTS5 needs them all, so a skipped
    bigram is rebuilt from its neighbours. A step of a run gap becomes FILLER.
    """
    words = [terms[0][1]]
    for (before, left), (after, right) in pairwise(terms):
        step = after - before
        if step == 2:
            words.append(left[-1] + right[0])
        elif step > 2:
            words.append(FILLER)
        words.append(right)
    return '"' + " ".join(words) + '"'


def tsquery_phrase(terms: Sequence[tuple[int, str]], label: str = "") -> str:
    """A phrase as a tsquery: `'a' <2> 'b'`; `label` (e.g. A) restricts it to the title."""
    parts = [quote(terms[0][1]) + (f":{label}" if label else "")]
    for (before, _), (after, right) in pairwise(terms):
        parts.append(f"<{after - before}> {quote(right)}" + (f":{label}" if label else ""))
    return "(" + " ".join(parts) + ")"


def quote(term: str) -> str:
    """A term as a tsvector or tsquery lexeme, quoted."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"
