"""The request deadline also bounds a streamed answer's work (http.watchdog.Deadline)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from kbservice.http.observability import STREAMED
from kbservice.http.watchdog import AnswerAbandoned, Deadline, Watchdog


def _streaming_app(chunks: int, seconds_each: float) -> Any:
    """A WSGI app whose body does its work while it is iterated, like a batch answer."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        environ[STREAMED] = True
        start_response("200 OK", [("Content-Type", "application/json")])

        def body() -> Iterator[bytes]:
            for _ in range(chunks):
                deadline = time.monotonic() + seconds_each
                while time.monotonic() < deadline:  # CPU work, interruptible
                    pass
                yield b"x"

        return body()

    return app


def _consume(app: Any) -> tuple[int, float]:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/applicability/batch"}
    started = time.monotonic()
    sent = 0
    for _chunk in app(environ, lambda status, headers, exc_info=None: None):
        sent += 1
    return sent, time.monotonic() - started


@pytest.fixture
def watchdog() -> Watchdog:
    dog = Watchdog(0.3)
    dog.start()
    return dog


def test_a_streamed_answer_past_the_deadline_is_abandoned(watchdog):
    app = Deadline(_streaming_app(chunks=40, seconds_each=0.05), watchdog)
    started = time.monotonic()
    with pytest.raises(AnswerAbandoned, match=r"stopped after the 0\.3 s request limit"):
        _consume(app)
    # Two seconds of work, stopped at the deadline (plus the watchdog's interval).
    assert time.monotonic() - started < 1.0


def test_a_streamed_answer_within_the_deadline_is_sent_whole(watchdog):
    app = Deadline(_streaming_app(chunks=5, seconds_each=0.01), watchdog)
    assert _consume(app)[0] == 5


def test_a_body_not_marked_streamed_passes_through_unwrapped(watchdog):
    def app(_environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"done"]

    assert Deadline(app, watchdog)({}, lambda *args: None) == [b"done"]
