"""Bilingual full-text search (being built: see issue 4)."""

from sqlalchemy.orm import Session


def index_article(session: Session, article_id: int) -> None:
    """(Re)index the current revision of one article."""
