"""The ranking model's constants, shared by both engines (docs/search.md, "Ranking").

Each engine scores a document with its own relevance function over the same tokens:
SQLite FTS5's `bm25()` (k1 = 1.2, b = 0.75, the corpus's average length), PostgreSQL's
`ts_rank()` (term frequency, length-normalized by 1 + log(length)). Both weigh a match in
the title three times one in the body; the search then multiplies by LOCALE_BOOST in the
preferred locale and adds the score of bonus phrases (neighbouring words found next to
each other, KB numbers named beside other words). The two functions give different
numbers, so the engines agree on what matches and on the rules above, not on the scores.
"""

from __future__ import annotations

TITLE_WEIGHT = 3.0
BODY_WEIGHT = 1.0
# bm25(search_fts, title weight, body weight).
SQLITE_WEIGHTS = f"{TITLE_WEIGHT}, {BODY_WEIGHT}"
# ts_rank's weights of labels D, C, B, A: the body is unlabelled (D), the title is A.
POSTGRESQL_WEIGHTS = f"{{{BODY_WEIGHT / TITLE_WEIGHT:.4f}, 0, 0, 1}}"
# Documents in the preferred locale count 5/4 as much.
LOCALE_BOOST = 1.25
# ts_rank's normalization flag 1: divide by 1 + the logarithm of the document's length.
POSTGRESQL_NORMALIZATION = 1
