"""BM25 weights (pure). Each posting stores its term weight, precomputed as an integer.

Length normalization uses fixed reference lengths instead of the corpus average, so a
posting's weight ("impact") never changes after it is written: a one-term query ranks
by the stored integer alone, in SQL, identically on every engine. Queries multiply the
impacts by each term's IDF, which does follow the corpus.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

K1 = 1.2
B = 0.75
# A match in the title counts three times one in the body (BM25F's simple form).
TITLE_WEIGHT = 3.0
BODY_WEIGHT = 1.0
# Typical field lengths in tokens (a Japanese text has about one bigram per character).
TITLE_REFERENCE = 20
BODY_REFERENCE = 400
IMPACT_SCALE = 1000
# Documents in the preferred locale count 5/4 as much; integers keep SQL ordering exact.
PLAIN, BOOSTED = 4, 5
LOCALE_BOOST = BOOSTED / PLAIN
# Neighbouring query words found next to each other add this share of their weight.
PROXIMITY_WEIGHT = 1.0


def impact(title_tf: int, body_tf: int, title_length: int, body_length: int) -> int:
    """BM25's saturated, length-normalized frequency of both fields, × IMPACT_SCALE."""
    weight = 0.0
    if title_tf:
        weight += TITLE_WEIGHT * _saturate(title_tf, title_length / TITLE_REFERENCE)
    if body_tf:
        weight += BODY_WEIGHT * _saturate(body_tf, body_length / BODY_REFERENCE)
    return round(weight * IMPACT_SCALE)


def _saturate(tf: int, relative_length: float) -> float:
    return tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * relative_length))


def idf(document_frequency: int, documents: int) -> float:
    """BM25's inverse document frequency (never negative)."""
    return math.log(1.0 + (documents - document_frequency + 0.5) / (document_frequency + 0.5))


class Match(NamedTuple):
    """An article's best document. As tuples, matches sort best first, then by KB number."""

    negated_score: float
    kb_length: int
    kb: str
    article_id: int
    locale: str
    score: float


def best_document(
    article_id: int, kb: str, scores: Mapping[str, float], locale: str | None
) -> Match:
    """An article ranks by its best document; it is shown in the preferred locale if it matched.

    Otherwise in the locale that scored best (on a tie, the first by name).
    """
    if len(scores) == 1:
        ((only, score),) = scores.items()
        return Match(-score, len(kb), kb, article_id, only, score)
    score = max(scores.values())
    if locale not in scores:
        locale = min(scores, key=lambda name: (-scores[name], name))
    return Match(-score, len(kb), kb, article_id, locale, score)
