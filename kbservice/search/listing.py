"""The article list: by KB number, or best match first when there is a query."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..articles.reading import ArticlePage
from ..articles.reading import list_articles as list_by_number
from ..storage.readers import ThreadReaders
from .searching import search_articles


def list_articles(
    session: Session,
    *,
    product: str | None = None,
    edition: str | None = None,
    architecture: str | None = None,
    service_pack: int | None = None,
    page: int = 1,
    per_page: int = 20,
    q: str | None = None,
    locale: str | None = None,
    readers: ThreadReaders | None = None,
) -> ArticlePage:
    """Articles by KB number, or best match first for a query `q`, filtered by applies-to.

    `locale` only matters to a query: hits in it rank higher.
    Public reads pass `readers` (see `search_articles`).
    """
    filters = {
        "product": product,
        "edition": edition,
        "architecture": architecture,
        "service_pack": service_pack,
        "page": page,
        "per_page": per_page,
    }
    if q is not None and q.strip():
        return search_articles(session, q, locale=locale, readers=readers, **filters)
    return list_by_number(session, **filters)
