"""The full-text index of articles: tokenizer, tables, BM25 weights, indexer (docs/search.md).

`index_article` is the one entry point for writers: call it in the transaction that
publishes a revision. Queries are answered by kbservice/search.
"""

from .indexer import IndexReport, count_articles, index_article, index_articles, rebuild_index

__all__ = ["IndexReport", "count_articles", "index_article", "index_articles", "rebuild_index"]
