"""Faults: a server killed mid-write leaves no partial revision; concurrent writers never 5xx."""

from __future__ import annotations

import http.client
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from kbservice.storage.db import make_null_pool_engine
from kbservice.storage.models import Article, Revision, RevisionText

from .conftest import make_token, migrated_and_seeded
from .servers import call as _call
from .servers import running_server as _server

KB = "885348"


def _create_articles(base: str, headers: dict[str, str], count: int) -> list[str]:
    kbs = []
    for number in range(count):
        kb = str(700000 + number)
        status, _, body = _call(
            f"{base}/articles",
            {
                "kb": kb,
                "source_locale": "en",
                "title": f"Article {kb}",
                "sections": [{"heading": None, "body": "Text"}],
                "applies_to": [{"product": "windows_xp"}],
                "rules": None,
            },
            headers,
            method="POST",
        )
        assert status == 201, body
        kbs.append(kb)
    return kbs


def _edit_loop(base: str, headers: dict[str, str], kb: str, rounds: int, acked: list) -> list[int]:
    statuses = []
    for number in range(rounds):
        _, response_headers, _ = _call(f"{base}/articles/{kb}")
        status, _, body = _call(
            f"{base}/articles/{kb}/metadata",
            {"keywords": [f"round-{number}"]},
            {**headers, "If-Match": response_headers["ETag"]},
            method="PUT",
        )
        statuses.append(status)
        if status == 200:
            acked.append((kb, body["revision"]["number"], f"round-{number}"))
    return statuses


def test_concurrent_writers_through_several_workers_never_fail(fresh_url, tmp_path, make_app):
    url = migrated_and_seeded(fresh_url)
    headers = {"Authorization": f"Bearer {make_token(make_app({'DATABASE_URL': url}), 'editor')}"}
    with _server(url, 4, tmp_path / "server.log") as base:
        kbs = _create_articles(base, headers, 6)
        acked: list = []
        with ThreadPoolExecutor(len(kbs)) as pool:
            results = list(pool.map(lambda kb: _edit_loop(base, headers, kb, 8, acked), kbs))
    statuses = [status for result in results for status in result]
    assert statuses == [200] * len(statuses), statuses
    assert len(acked) == 6 * 8


def _check_integrity(url: str, acked: list) -> None:
    engine = make_null_pool_engine(url)
    with engine.connect() as conn:
        for article_id, kb, current in conn.execute(
            select(Article.id, Article.kb, Article.current_seq)
        ):
            seqs = list(
                conn.scalars(
                    select(Revision.seq)
                    .where(Revision.article_id == article_id)
                    .order_by(Revision.seq)
                )
            )
            assert seqs == list(range(1, current + 1)), (kb, seqs, current)
        # Every revision has all of its texts: no partial revision survived the kill.
        partial = conn.execute(
            select(Revision.id)
            .outerjoin(RevisionText, RevisionText.revision_id == Revision.id)
            .group_by(Revision.id)
            .having(func.count(RevisionText.id) == 0)
        ).all()
        assert partial == []
        for kb, number, keyword in acked:
            keywords = conn.scalar(
                select(Revision.keywords)
                .join(Article, Article.id == Revision.article_id)
                .where(Article.kb == kb, Revision.number == number)
            )
            assert keywords == [keyword], (kb, number)
    engine.dispose()


def test_sigkill_during_a_stream_of_writes_leaves_no_partial_revision(
    fresh_url, tmp_path, make_app
):
    url = migrated_and_seeded(fresh_url)
    headers = {"Authorization": f"Bearer {make_token(make_app({'DATABASE_URL': url}), 'editor')}"}
    acked: list = []
    with _server(url, 2, tmp_path / "first.log") as base:
        stop = threading.Event()

        def stream() -> None:
            number = 0
            while not stop.is_set() and number < 500:
                try:
                    _edit_loop(base, headers, KB, 1, acked)
                # The kill may land before the answer or halfway through its body.
                except (OSError, http.client.HTTPException):
                    return
                number += 1

        writer = threading.Thread(target=stream)
        writer.start()
        while len(acked) < 5:
            stop.wait(0.05)
        # Kill the whole server (master and workers) without any chance to clean up.
        os.killpg(os.getpgid(int((tmp_path / "first.log.pid").read_text())), signal.SIGKILL)
        stop.set()
        writer.join(timeout=30)
    _check_integrity(url, acked)
    with _server(url, 1, tmp_path / "second.log") as base:
        status, _, body = _call(f"{base}/articles/{KB}/revisions")
        assert status == 200
        numbers = [item["number"] for item in body["items"]]
        assert len(numbers) == len(set(numbers)) >= len(acked) + 1
