"""Truly concurrent edits: the database decides, exactly one writer wins, nothing is lost."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from kbservice.http.context import get_database
from kbservice.storage.db import SQLITE_CACHE_KIB, SQLITE_WRITE_CACHE_KIB

from .conftest import make_token

KB = "/api/v1/articles/885348"
WRITERS = 8


def test_many_writers_with_the_same_etag_exactly_one_wins(app):
    headers = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    etag = app.test_client().get(KB).headers["ETag"]
    start = threading.Barrier(WRITERS)

    def write(number: int) -> tuple[int, str]:
        client = app.test_client()
        start.wait()
        response = client.put(
            f"{KB}/translations/en",
            json={
                "title": f"Title from writer {number}",
                "sections": [{"heading": None, "body": f"Body {number}"}],
            },
            headers={**headers, "If-Match": etag},
        )
        return response.status_code, response.get_json().get("title", "")

    with ThreadPoolExecutor(WRITERS) as pool:
        outcomes = list(pool.map(write, range(WRITERS)))

    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [200] + [412] * (WRITERS - 1), outcomes
    (winner_title,) = [title for status, title in outcomes if status == 200]
    client = app.test_client()
    assert client.get(f"{KB}?locale=en").get_json()["title"] == winner_title
    numbers = [item["number"] for item in client.get(f"{KB}/revisions").get_json()["items"]]
    assert numbers == ["2.3", "2.2"]


def test_sequential_writers_each_get_a_contiguous_revision(app):
    headers = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    client = app.test_client()
    for round_number in range(5):
        etag = client.get(KB).headers["ETag"]
        response = client.put(
            f"{KB}/metadata",
            json={"keywords": [f"k{round_number}"]},
            headers={**headers, "If-Match": etag},
        )
        assert response.status_code == 200
    numbers = [item["number"] for item in client.get(f"{KB}/revisions").get_json()["items"]]
    assert numbers == ["2.7", "2.6", "2.5", "2.4", "2.3", "2.2"]


def test_sqlite_connections_keep_a_small_page_cache_and_writers_a_larger_one(app, engine_name):
    if engine_name != "sqlite":
        pytest.skip("the SQLite variant: PostgreSQL caches pages in its server")
    database = get_database(app)

    def cache_size(session: Session) -> int:
        return session.execute(text("PRAGMA cache_size")).scalar_one()

    with database.session() as session:
        assert cache_size(session) == -SQLITE_CACHE_KIB
    with database.write() as session:
        assert cache_size(session) == -SQLITE_WRITE_CACHE_KIB
    with contextlib.suppress(RuntimeError), database.write() as session:
        raise RuntimeError("a failed write gives its cache back too")
    # Back in the pool, the connections that wrote are small again.
    sessions = [database.session() for _ in range(3)]
    try:
        assert [cache_size(session) for session in sessions] == [-SQLITE_CACHE_KIB] * 3
    finally:
        for session in sessions:
            session.close()


def test_a_writer_losing_the_race_at_insert_gets_412_and_nothing_is_written(app):
    """The database's unique (article, seq) decides when the serializing lock did not."""
    headers = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    client = app.test_client()
    etag = client.get(KB).headers["ETag"]
    # Another writer's revision 2 (seq 2) is in the table, but the article's current
    # revision is still the one the ETag names: this writer inserts seq 2 too.
    with get_database(app).write() as session:
        session.execute(
            text(
                "INSERT INTO revisions (article_id, seq, number, created_at, author, summary,"
                " keywords, related, applies_to, rules)"
                " SELECT article_id, seq + 1, '9.9', created_at, author, summary, keywords,"
                " related, applies_to, rules FROM revisions"
                " WHERE article_id = (SELECT id FROM articles WHERE kb = '885348')"
            )
        )
    response = client.put(
        f"{KB}/translations/en",
        json={"title": "Late writer", "sections": [{"heading": None, "body": "Body"}]},
        headers={**headers, "If-Match": etag},
    )
    assert response.status_code == 412, response.get_data(as_text=True)
    assert "has changed since the ETag" in response.get_json()["detail"]
    assert client.get(f"{KB}?locale=en").get_json()["title"] != "Late writer"
