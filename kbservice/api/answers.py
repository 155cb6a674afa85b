"""The JSON of applicability answers: one system's as a whole, a batch's piece by piece.

A batch answer can run to hundreds of megabytes (every article `unknown` for systems
that carry no facts); built whole, with the objects it is made from, it once grew a
worker to 23.5 GB. So a batch is judged system by system while it is written: each
result is serialized by the app's JSON provider on its own, and the body leaves in
chunks of about _CHUNK bytes. A worker holds one system's verdicts and one chunk at a
time, whatever the size of the answer. The bytes are those `jsonify` writes for the
whole document; an answer that fits in one chunk is sent whole, with its Content-Length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from flask import Response, current_app, jsonify, request

from ..applicability.index import Assessment
from ..catalog.facts import NormalizedSystem
from ..http.jsonout import FastJSONProvider
from ..http.observability import STREAMED, count_verdicts

# A streamed batch answer is written to the socket in pieces of about this size.
_CHUNK = 64 * 1024

Dumps = Callable[[Any], bytes]
# A system of a batch: its id, and its normalized facts or the problem they gave.
Prepared = tuple[Any, NormalizedSystem | dict[str, Any]]


def _result_body(item: Assessment, locale: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kb": item.entry.kb,
        "title": item.entry.title(locale),
        "verdict": item.verdict.value,
        "reasons": item.reasons(locale),
        "missing_facts": list(item.missing_facts),
        "revision": {"number": item.entry.revision_number},
    }
    if item.evaluation is not None and item.evaluation.trace is not None:
        body["trace"] = item.evaluation.trace
    return body


def system_answer(system: NormalizedSystem, results: list[Assessment], locale: str) -> dict:
    """One system's answer: normalized facts, derived facts, results and warnings."""
    return {
        "system": system.facts,
        "derived": system.derived,
        "results": [_result_body(item, locale) for item in results],
        "warnings": [warning.text(locale) for warning in system.warnings],
    }


def _answer_pieces(
    system_id: Any,
    system: NormalizedSystem,
    results: list[Assessment],
    locale: str,
    dumps: Dumps,
) -> Iterator[bytes]:
    """`{"id": system_id, **system_answer(...)}` as compact JSON, one result at a time."""
    head = {"id": system_id, "system": system.facts, "derived": system.derived}
    yield dumps(head)[: -len(b"}\n")]
    yield b',"results":['
    for position, item in enumerate(results):
        yield (b"," if position else b"") + dumps(_result_body(item, locale))[:-1]
    warnings = [warning.text(locale) for warning in system.warnings]
    yield b'],"warnings":' + dumps(warnings)[:-1] + b"}"


def _batch_pieces(
    locale: str,
    prepared: Iterable[Prepared],
    judge: Callable[[NormalizedSystem], list[Assessment]],
    dumps: Dumps,
) -> Iterator[bytes]:
    """`{"locale": locale, "results": [...]}` as compact JSON, judging each system in turn."""
    yield dumps({"locale": locale, "results": []})[: -len(b"]}\n")]
    verdicts: list[str] = []
    try:
        for position, (system_id, system) in enumerate(prepared):
            if position:
                yield b","
            if isinstance(system, dict):
                yield dumps({"id": system_id, "error": system})[:-1]
                continue
            results = judge(system)
            verdicts.extend(item.verdict.value for item in results)
            yield from _answer_pieces(system_id, system, results, locale, dumps)
    finally:
        # Once per batch (the counter is file-backed), also when the client went away.
        count_verdicts(verdicts)
    yield b"]}\n"


def _chunks(pieces: Iterable[bytes]) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        if len(buffer) >= _CHUNK:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def _resumed(taken: Sequence[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    # A generator, not itertools.chain: closing it (the client left) closes `rest` at once.
    yield from taken
    yield from rest


def batch_response(
    locale: str,
    prepared: Iterable[Prepared],
    judge: Callable[[NormalizedSystem], list[Assessment]],
) -> Response:
    """The batch answer `jsonify` would give, each system judged as it is written."""
    json = current_app.json
    assert isinstance(json, FastJSONProvider)
    if json.response_bytes([0]) != b"[0]\n":
        # Debug mode indents whole documents, which cannot be written in pieces; it is
        # for development, where an answer held whole costs nothing that matters.
        compact = b"".join(_batch_pieces(locale, prepared, judge, _compact(json)))
        return jsonify(json.loads(compact))
    chunks = _chunks(_batch_pieces(locale, prepared, judge, json.response_bytes))
    first = next(chunks)
    second = next(chunks, None)
    if second is None:
        return current_app.response_class(first, mimetype=json.mimetype)
    # The request's deadline and its log line follow the body to its end.
    request.environ[STREAMED] = True
    body = _resumed((first, second), chunks)
    return current_app.response_class(body, mimetype=json.mimetype)


def _compact(json: FastJSONProvider) -> Dumps:
    def dumps(obj: Any) -> bytes:
        return f"{json.dumps(obj, separators=(',', ':'))}\n".encode()

    return dumps
