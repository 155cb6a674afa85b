"""Bilingual full-text search: Japanese and English titles and bodies (docs/search.md).

`list_articles` answers `GET /api/v1/articles` (with `?q=`, `search_articles`); the index
they read is built by kbservice/fulltext.
"""

from .listing import list_articles
from .searching import search_articles

__all__ = ["list_articles", "search_articles"]
