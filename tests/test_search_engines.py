"""The full-text index on both engines: the same matches as a brute-force reading of the texts."""

from __future__ import annotations

import random
from typing import Any

from alembic import command
from flask import Flask
from sqlalchemy import select, text

from kbservice import create_app
from kbservice.cli import main
from kbservice.fulltext.indexer import body_segments
from kbservice.fulltext.tokenizer import Token, tokenize, tokenize_segments
from kbservice.http.context import get_database
from kbservice.search import search_articles
from kbservice.search.parser import Phrase, parse_query
from kbservice.storage.db import make_null_pool_engine
from kbservice.storage.migrate import alembic_config
from kbservice.storage.models import Article, Revision, RevisionText
from kbservice.synth.corpus import load_corpus

from .test_search import _kbs


def downgrade(url: str, revision: str) -> None:
    """Take the schema back to `revision`, as an older kbservice left it."""
    command.downgrade(alembic_config(url), revision)


def _holds(tokens: list[Token], phrase: Phrase) -> bool:
    at = {(token.term, token.position) for token in tokens}
    return any(
        all((term, token.position + offset) in at for offset, term in phrase.terms)
        for token in tokens
        if token.term == phrase.first
    )


def _documents(session: Any) -> list[tuple[str, list[Token], list[Token], str]]:
    rows = session.execute(
        select(Article.kb, RevisionText.title, RevisionText.sections)
        .join(Revision, (Revision.article_id == Article.id) & (Revision.seq == Article.current_seq))
        .join(RevisionText, RevisionText.revision_id == Revision.id)
    )
    found = []
    for kb, title, sections in rows:
        text = " ".join([title, *body_segments(sections)])
        found.append((kb, tokenize(title)[0], tokenize_segments(body_segments(sections)), text))
    return found


def _expected(documents: list[tuple[str, list[Token], list[Token], str]], q: str) -> set[str]:
    parsed = parse_query(q)
    return {
        kb
        for kb, title, body, _ in documents
        if all(_holds(title, p) or _holds(body, p) for p in parsed.required)
    }


def _queries(documents: list[tuple[str, list[Token], list[Token], str]], count: int) -> list[str]:
    rng = random.Random(17)
    queries: list[str] = []
    while len(queries) < count:
        text = rng.choice(documents)[3]
        start = rng.randrange(len(text))
        piece = text[start : start + rng.randint(2, 14)]
        if rng.random() < 0.3:
            piece = f'"{piece}"'
        parsed = parse_query(piece)
        if not parsed.empty and not parsed.kb_numbers:
            queries.append(piece)
    return queries


def test_both_engines_match_exactly_what_the_texts_hold(app: Flask) -> None:
    with app.app_context(), get_database(app).write() as session:
        load_corpus(session, 40, seed=5)
    with app.app_context(), get_database(app).session() as session:
        documents = _documents(session)
        found = 0
        for q in [*_queries(documents, 120), "静的マッピング", '"static mappings"', "推奨 ipsec"]:
            page = search_articles(session, q, per_page=100)
            assert page.total == len(page.items), q
            assert {item.kb for item in page.items} == _expected(documents, q), q
            found += page.total > 0
        assert found > 40


def test_an_old_database_upgrades_then_reindexes(cli, fresh_url):
    """0006's postings tables go with `db upgrade`; `search reindex` fills the new index."""
    assert cli.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert cli.invoke(main, ["seed"]).exit_code == 0
    downgrade(fresh_url, "0006")
    engine = make_null_pool_engine(fresh_url)
    with engine.begin() as connection:
        article_id = connection.scalar(text("SELECT id FROM articles WHERE kb = '885348'"))
        connection.execute(
            text(
                "INSERT INTO search_postings VALUES "
                "('推奨', :a, 'ja', '885348', 1000, 10, 100, '', '1')"
            ),
            {"a": article_id},
        )
    engine.dispose()
    assert "Indexed 1 article(s): 2 document(s)" in _upgrade_then_reindex(cli, fresh_url)


def test_an_index_keyed_the_old_way_is_emptied_by_the_upgrade(cli, fresh_url):
    """0012 empties an index whose ids predate document_id; `search reindex` fills it."""
    assert cli.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert cli.invoke(main, ["seed"]).exit_code == 0
    downgrade(fresh_url, "0010")
    engine = make_null_pool_engine(fresh_url)
    with engine.begin() as connection:
        # A document as 0010's code numbered them (1, 2, …; on SQLite the FTS5 rowid too).
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.execute(text("INSERT INTO search_fts(search_fts) VALUES ('delete-all')"))
        connection.execute(text("DELETE FROM search_documents"))
        article_id = connection.scalar(text("SELECT id FROM articles WHERE kb = '885348'"))
        revision_id = connection.scalar(
            text("SELECT max(id) FROM revisions WHERE article_id = :a"), {"a": article_id}
        )
        terms = "NULL" if sqlite else "CAST('推奨' AS tsvector)"
        connection.execute(
            text(
                "INSERT INTO search_documents (id, article_id, locale, revision_id, kb, terms) "
                f"VALUES (1, :a, 'ja', :r, '885348', {terms})"
            ),
            {"a": article_id, "r": revision_id},
        )
        if sqlite:
            connection.execute(
                text("INSERT INTO search_fts(rowid, title, body) VALUES (1, '', '推奨')")
            )
    engine.dispose()
    _upgrade_then_reindex(cli, fresh_url)


def _upgrade_then_reindex(cli, fresh_url):
    """`db upgrade` leaves the index empty, `search reindex` fills it, `db check` agrees.

    Returns the reindex's output.
    """
    result = cli.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    app = create_app({"DATABASE_URL": fresh_url, "TESTING": True})
    client = app.test_client()
    assert _kbs(client, "推奨") == []
    reindexed = cli.invoke(main, ["search", "reindex"])
    assert reindexed.exit_code == 0, reindexed.output
    assert _kbs(client, "推奨") == ["885348"]
    assert _kbs(client, '"static mappings"') == ["885348"]
    assert cli.invoke(main, ["db", "check"]).exit_code == 0
    get_database(app).dispose()
    return reindexed.output
