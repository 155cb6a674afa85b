"""The change feed: every published revision exactly once, in publication order."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.exc import IntegrityError

from kbservice.articles import feed, reading, revisions
from kbservice.http.context import get_database

from .conftest import make_token

FEED = "/api/v1/changes"
KB = "/api/v1/articles/885348"


def _article(kb: str) -> dict:
    return {
        "kb": kb,
        "source_locale": "en",
        "title": f"Article {kb}",
        "sections": [{"heading": None, "body": "Body."}],
        "applies_to": [{"product": "windows_xp"}],
        "rules": {"product": "windows_xp"},
    }


def _drain(client, after: str = "", limit: int = 1000) -> tuple[list[dict], str]:
    """Every item after `after`, following `next`, and the last `next`."""
    items: list[dict] = []
    while True:
        page = client.get(FEED, query_string={"after": after, "limit": limit})
        assert page.status_code == 200, page.get_data(as_text=True)
        body = page.get_json()
        items += body["items"]
        if body["next"] == after:
            return items, after
        after = body["next"]


def _published(client, kbs) -> set[tuple[str, str]]:
    return {
        (kb, item["number"])
        for kb in kbs
        for item in client.get(f"/api/v1/articles/{kb}/revisions").get_json()["items"]
    }


def _edit(client, headers, kb: str, keyword: str) -> int:
    path = f"/api/v1/articles/{kb}"
    etag = client.get(path).headers["ETag"]
    response = client.put(
        f"{path}/metadata", json={"keywords": [keyword]}, headers={**headers, "If-Match": etag}
    )
    return response.status_code


def test_the_feed_lists_every_revision_once_in_publication_order(client, editor):
    seeded, start = _drain(client)
    assert {(item["kb"], item["revision"]["number"]) for item in seeded} == _published(
        client, ["885348"]
    )
    assert len(seeded) == len({item["cursor"] for item in seeded})
    assert all(item["kind"] in {"created", "revised"} for item in seeded)
    assert seeded[0]["revision"]["created_at"].endswith("Z")
    # An empty `after` starts from the first, as no `after` does.
    assert client.get(FEED, query_string={"after": ""}).get_json() == client.get(FEED).get_json()

    assert (
        client.post("/api/v1/articles", json=_article("900101"), headers=editor).status_code == 201
    )
    assert _edit(client, editor, "885348", "one") == 200
    etag = client.get(KB).headers["ETag"]
    restored = client.post(
        f"{KB}/revisions/2.2/restore", json={}, headers={**editor, "If-Match": etag}
    )
    assert restored.status_code in (200, 201), restored.get_data(as_text=True)

    new, end = _drain(client, start)
    assert [(item["kb"], item["revision"]["number"], item["kind"]) for item in new] == [
        ("900101", "1.0", "created"),
        ("885348", "2.3", "revised"),
        ("885348", "2.4", "restored"),
    ]
    assert end == new[-1]["cursor"]
    # Page by page with limit=1, each item's cursor continues right after it.
    one_by_one, _ = _drain(client, start, limit=1)
    assert one_by_one == new
    assert client.get(FEED, query_string={"after": new[0]["cursor"]}).get_json()["items"] == new[1:]
    # Past the end: no items, and `next` stays where it was.
    assert client.get(FEED, query_string={"after": end}).get_json() == {"items": [], "next": end}
    everything, _ = _drain(client)
    assert everything == seeded + new


@pytest.mark.parametrize(
    "query",
    [
        {"after": "not a cursor"},
        {"after": "12"},
        {"after": "a2Jmb3JlaWduOjE"},  # base64 of another prefix
        {"after": "a2JmZWVkOi0x"},  # kbfeed:-1
        {"after": "a2JmZWVkOjAx"},  # kbfeed:01, not as handed out
        {"after": "x" * 101},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
    ],
)
def test_a_malformed_cursor_or_limit_is_a_problem_naming_it(client, query):
    response = client.get(FEED, query_string=query)
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert set(response.get_json()["errors"]) == set(query)


def test_an_idle_poll_is_a_304_until_something_is_published(client, editor):
    _, end = _drain(client)
    page = client.get(FEED, query_string={"after": end})
    etag = page.headers["ETag"]
    assert page.headers["Cache-Control"] == "no-cache"
    again = client.get(FEED, query_string={"after": end}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert _edit(client, editor, "885348", "two") == 200
    moved = client.get(FEED, query_string={"after": end}, headers={"If-None-Match": etag})
    assert moved.status_code == 200
    assert [item["revision"]["number"] for item in moved.get_json()["items"]] == ["2.3"]
    # A full page never changes: its ETag still answers 304 after later publications.
    full = client.get(FEED, query_string={"limit": 1})
    assert _edit(client, editor, "885348", "three") == 200
    assert (
        client.get(
            FEED, query_string={"limit": 1}, headers={"If-None-Match": full.headers["ETag"]}
        ).status_code
        == 304
    )


WRITERS = 6
EDITS = 5


def test_concurrent_writers_and_a_polling_reader_see_each_revision_exactly_once(app):
    """Writers on separate connections commit in whatever order; the reader misses nothing."""
    headers = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    _, start = _drain(app.test_client())
    kbs = [str(900200 + n) for n in range(WRITERS)]
    done = threading.Event()
    seen: list[dict] = []

    def write(kb: str) -> list[int]:
        client = app.test_client()
        statuses = [client.post("/api/v1/articles", json=_article(kb), headers=headers).status_code]
        statuses += [_edit(client, headers, kb, f"k{n}") for n in range(EDITS)]
        return statuses

    def read() -> None:
        client = app.test_client()
        after = start
        while True:
            finished = done.is_set()
            body = client.get(FEED, query_string={"after": after, "limit": 3}).get_json()
            seen.extend(body["items"])
            after = body["next"]
            if finished and not body["items"]:
                return

    reader = threading.Thread(target=read)
    reader.start()
    with ThreadPoolExecutor(WRITERS) as pool:
        outcomes = list(pool.map(write, kbs))
    done.set()
    reader.join(timeout=60)
    assert not reader.is_alive()

    assert outcomes == [[201] + [200] * EDITS] * WRITERS
    pairs = [(item["kb"], item["revision"]["number"]) for item in seen]
    assert len(pairs) == len(set(pairs)) == WRITERS * (EDITS + 1)
    assert set(pairs) == _published(app.test_client(), kbs)
    for kb in kbs:  # each article's revisions in the order they were published
        numbers = [number for item_kb, number in pairs if item_kb == kb]
        assert numbers == ["1.0"] + [f"1.{n}" for n in range(1, EDITS + 1)]
    # What the reader saw while writes went on is what the feed holds afterwards.
    assert seen == _drain(app.test_client(), start)[0]


def test_a_writer_holding_its_transaction_open_is_not_skipped(app, engine_name):
    """A publication still uncommitted is neither skipped nor overtaken by later ones."""
    headers = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    client = app.test_client()
    kbs = [str(900300 + n) for n in range(4)]
    for kb in kbs:
        assert (
            client.post("/api/v1/articles", json=_article(kb), headers=headers).status_code == 201
        )
    _, start = _drain(client)
    database = get_database(app)
    published = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with database.write() as session:
            current = reading.get_article(session, "885348")
            revisions.publish(
                session,
                "885348",
                current.revision_id,
                revisions.Change(keywords=["held"]),
                author="held",
                summary="held open",
            )
            published.set()
            release.wait(timeout=60)

    holder = threading.Thread(target=hold)
    holder.start()
    assert published.wait(timeout=30)
    with ThreadPoolExecutor(len(kbs)) as pool:
        others = [pool.submit(_edit, app.test_client(), headers, kb, "later") for kb in kbs]
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            # Nothing after the held publication may be handed out before it.
            assert client.get(FEED, query_string={"after": start}).get_json() == {
                "items": [],
                "next": start,
            }
            time.sleep(0.05)
        if engine_name == "postgresql":
            with database.engine.connect() as connection:
                waiting = connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    )
                )
            assert waiting == len(kbs)
        release.set()
        holder.join(timeout=30)
        assert [future.result(timeout=60) for future in others] == [200] * len(kbs)

    items, _ = _drain(client, start)
    pairs = [(item["kb"], item["revision"]["number"]) for item in items]
    assert pairs[0] == ("885348", "2.3")
    assert sorted(pairs[1:]) == [(kb, "1.1") for kb in kbs]


def test_without_the_writers_lock_a_racing_position_fails_instead_of_overtaking(app, engine_name):
    """The order rests on the primary key, not on publishers taking turns."""
    if engine_name != "postgresql":
        pytest.skip("SQLite write transactions cannot overlap (BEGIN IMMEDIATE)")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    for kb in ("900601", "900602"):
        assert (
            client.post("/api/v1/articles", json=_article(kb), headers=headers).status_code == 201
        )
    database = get_database(app)
    with database.write() as session:
        ids = (
            session.execute(
                text(
                    "SELECT r.id FROM revisions r JOIN articles a ON a.id = r.article_id "
                    "WHERE a.kb IN ('900601', '900602') ORDER BY a.kb"
                )
            )
            .scalars()
            .all()
        )
        # Two revisions not yet in the feed, as two publications in flight would be.
        session.execute(
            text("DELETE FROM feed_entries WHERE revision_id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": ids},
        )
    _, start = _drain(client)
    first = database.session()
    feed.record(first, ids[0], feed.CREATED)
    outcome: list[BaseException | None] = []

    def second() -> None:
        with database.session() as session:
            try:
                feed.record(session, ids[1], feed.CREATED)  # waits for the first at the key
                session.commit()
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

    racer = threading.Thread(target=second)
    racer.start()
    time.sleep(0.5)
    assert not outcome  # still waiting
    first.commit()
    first.close()
    racer.join(timeout=30)
    assert isinstance(outcome[0], IntegrityError)
    items, _ = _drain(client, start)
    assert [item["kb"] for item in items] == ["900601"]
