"""Rules stored around the API (by SQL) cannot stop the service: `serve` still starts."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update

from kbservice.articles.reading import NewArticle, create_article
from kbservice.http.context import warm_caches
from kbservice.storage.db import Database, make_null_pool_engine
from kbservice.storage.models import Article, Revision


def _nested(levels: int, leaf: Any) -> Any:
    for _ in range(levels):
        leaf = {"not": leaf}
    return leaf


def test_an_article_whose_stored_rules_cannot_be_compiled_is_left_out(seeded_url, make_app, caplog):
    database = Database(make_null_pool_engine(seeded_url))
    with database.write() as session:
        create_article(
            session,
            NewArticle(
                kb="900001",
                source_locale="en",
                texts={"en": ("Fine", [{"heading": None, "body": "Rules that compile."}])},
                applies_to=[{"product": "windows_server_2003"}],
            ),
        )
        # What the API refuses, written by plain SQL: deep enough to break the compiler.
        session.execute(
            update(Revision)
            .where(Revision.article_id == Article.id, Article.kb == "885348")
            .values(rules=_nested(600, {"product": "windows_server_2003"}))
        )
    database.dispose()
    app = make_app({"DATABASE_URL": seeded_url})

    with caplog.at_level(logging.ERROR, logger="kbservice.applicability"):
        # What `kbservice serve` builds before it starts the workers (server.prepare_for_fork):
        # an outline of every article's rules; they are compiled when a request judges them.
        assert warm_caches(app) == 2
        client = app.test_client()
        system = {"product": "windows_server_2003", "edition": "enterprise", "architecture": "x86"}
        answer = client.post("/api/v1/applicability", json={"system": system})
    assert answer.status_code == 200
    assert [result["kb"] for result in answer.get_json()["results"]] == ["900001"]
    (record,) = [r for r in caplog.records if r.name == "kbservice.applicability"]
    message = record.getMessage()
    assert message.startswith("KB885348 revision 2.2 is left out of applicability answers")
    assert "rules are nested deeper than the limit of 32 levels" in message
    assert "PUT /api/v1/articles/885348/rules" in message

    asked = client.post("/api/v1/applicability", json={"system": system, "articles": ["885348"]})
    assert asked.status_code == 404
    assert client.get("/api/v1/articles/885348").status_code == 200
