"""Bilingual full-text search: Japanese and English titles and bodies (docs/search.md).

`index_article` is the one entry point for writers: call it in the transaction that
publishes a revision. `search_articles` answers `GET /api/v1/articles?q=`.
"""

from .indexer import IndexReport, count_articles, index_article, index_articles, rebuild_index
from .searching import search_articles

__all__ = [
    "IndexReport",
    "count_articles",
    "index_article",
    "index_articles",
    "rebuild_index",
    "search_articles",
]
