"""Bounded time and connections: request lines, request time, slow clients, rate limits.

The server tests start `kbservice serve` itself, one worker, with the sync worker
(`--threads 1`) and gthread (`--threads 4`) where both must hold.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kbservice.config import ConfigError

from .flask_requests import FlaskRequests
from .servers import SCRIPT, call, free_port, running_server
from .systems import SERVER_2003_VPN

SYSTEM = {**SERVER_2003_VPN, "behind_nat": True}
PROBLEM = "application/problem+json"


@contextmanager
def served(url: str, tmp_path: Path, threads: int, **settings: str) -> Iterator[int]:
    """`kbservice serve --workers 1 --threads N` until the block ends; yields its port."""
    log = tmp_path / f"serve-{threads}-{time.monotonic_ns()}.log"
    with running_server(url, 1, log, settings=settings, threads=threads) as base:
        yield urlsplit(base).port


def _raw(port: int, request: bytes, timeout: float = 20) -> tuple[bytes, float]:
    """Send `request` on a new connection; the whole answer and the seconds it took."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        # Refused before it was all sent, the answer is still there to read.
        with contextlib.suppress(OSError):
            sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer, time.perf_counter() - started


def _request_line_of(length: int) -> bytes:
    start, end = b"GET /api/v1/nothing-here?pad=", b" HTTP/1.1"
    return start + b"a" * (length - len(start) - len(end)) + end


def _status_and_body(answer: bytes) -> tuple[int, bytes, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


@pytest.mark.parametrize("threads", [1, 4])
def test_request_lines_up_to_8000_bytes_reach_the_application_longer_ones_get_414(
    seeded_url, tmp_path, threads
):
    with served(seeded_url, tmp_path, threads) as port:
        tail = b"\r\nHost: test\r\nConnection: close\r\n\r\n"
        status, head, _ = _status_and_body(_raw(port, _request_line_of(8000) + tail)[0])
        assert status == 404  # the application's answer (it names the request)
        assert b"X-Request-ID" in head

        for length in (8001, 9000):
            status, head, body = _status_and_body(_raw(port, _request_line_of(length) + tail)[0])
            assert status == 414
            assert f"Content-Type: {PROBLEM}".encode() in head
            assert json.loads(body)["status"] == 414

        answer, seconds = _raw(port, _request_line_of(10_000_000) + tail)
        assert _status_and_body(answer)[0] == 414
        assert seconds < 2, f"a 10 MB request line took {seconds:.2f} s to refuse"
        assert call(f"http://127.0.0.1:{port}/api/v1/health")[0] == 200


@pytest.mark.parametrize("threads", [1, 4])
def test_a_request_over_the_time_limit_is_stopped_and_the_worker_serves_on(
    seeded_url, tmp_path, threads
):
    # 50,000 systems take seconds to evaluate; the limit is half a second.
    settings = {"KB_REQUEST_TIMEOUT": "0.5", "KB_MAX_BATCH_SYSTEMS": "50000"}
    with served(seeded_url, tmp_path, threads, **settings) as port:
        batch = f"http://127.0.0.1:{port}/api/v1/applicability/batch"
        systems = [{**SYSTEM, "id": str(n)} for n in range(50_000)]
        started = time.perf_counter()
        status, headers, body = call(batch, {"systems": systems}, method="POST")
        seconds = time.perf_counter() - started
        assert status == 503, body
        assert headers["Content-Type"] == PROBLEM
        assert body["type"] == "urn:kbservice:problem:request-timed-out"
        assert headers["Retry-After"]
        assert seconds < 5

        # The same (only) worker answers what follows, within the limit.
        assert call(batch.replace("applicability/batch", "health"))[0] == 200
        status, _, body = call(batch, {"systems": systems[:10]}, method="POST")
        assert status == 200, body
        assert len(body["results"]) == 10


def test_half_sent_requests_do_not_hold_the_threads_of_a_worker(seeded_url, tmp_path):
    settings = {"KB_CLIENT_TIMEOUT": "2"}
    with served(seeded_url, tmp_path, 2, **settings) as port:
        stalled = []
        for _ in range(30):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: test\r\n")
            stalled.append(sock)
        try:
            time.sleep(0.3)  # the worker has accepted them all
            started = time.perf_counter()
            assert call(f"http://127.0.0.1:{port}/api/v1/health")[0] == 200
            assert time.perf_counter() - started < 2

            # A head that does not complete in time is answered 408 and closed.
            answer = b""
            while chunk := stalled[0].recv(65536):
                answer += chunk
            status, head, body = _status_and_body(answer)
            assert status == 408
            assert f"Content-Type: {PROBLEM}".encode() in head
            assert json.loads(body)["status"] == 408
        finally:
            for sock in stalled:
                sock.close()


@pytest.mark.parametrize("threads", [1, 4])
@pytest.mark.parametrize("path", ["/api/v1/applicability", "/api/v1/applicability/batch"])
def test_a_stalled_body_is_answered_408_and_frees_the_thread(seeded_url, tmp_path, threads, path):
    with served(seeded_url, tmp_path, threads, KB_CLIENT_TIMEOUT="1") as port:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n"
        )
        started = time.perf_counter()
        sock.sendall(head.encode() + b'{"system": {')  # then nothing more
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"}" in answer.partition(b"\r\n\r\n")[2]:
                break
        sock.close()
        status, head_bytes, body = _status_and_body(answer)
        assert status == 408, answer
        assert f"Content-Type: {PROBLEM}".encode() in head_bytes
        assert "did not arrive in time" in json.loads(body)["detail"]
        assert time.perf_counter() - started < 5
        # The worker serves on.
        assert call(f"http://127.0.0.1:{port}/api/v1/health")[0] == 200


def _serve_with(url: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`kbservice serve` in a process of its own (it sets up prometheus_client for its
    workers in its environment), expected to refuse its settings."""
    env = {**os.environ, "KB_DATABASE_URL": url, **settings}
    return subprocess.run(
        [str(SCRIPT), "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_refuses_a_request_timeout_that_is_not_positive(fresh_url):
    result = _serve_with(fresh_url, KB_REQUEST_TIMEOUT="0")
    assert result.returncode != 0
    assert "KB_REQUEST_TIMEOUT must be a number of seconds above 0" in result.stderr + result.stdout


def test_serve_refuses_a_gc_setting_that_is_not_a_positive_integer(fresh_url):
    for value in ("0", "-3"):
        result = _serve_with(fresh_url, KB_GC_FULL_EVERY=value)
        assert result.returncode == 1, result.stdout + result.stderr
        said = f"KB_GC_FULL_EVERY must be a positive integer, got {int(value)}"
        assert said in result.stderr + result.stdout


def test_the_rate_limit_answers_429_problems_with_retry_after(make_app, seeded_url):
    app = make_app({"DATABASE_URL": seeded_url, "RATE_LIMIT": "3/minute"})
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/health").status_code == 200
    response = client.get("/api/v1/health")
    assert response.status_code == 429
    assert response.headers["Content-Type"] == PROBLEM
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.get_json()["status"] == 429
    # Another client address has its own count.
    other = client.get("/api/v1/health", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_retry_after_never_exceeds_the_limit_window(make_app, seeded_url):
    # With a one-second window the answer must be exactly 1; rounding the reset time
    # up by a whole second (as RequestLimit.reset_at does) would often give 2.
    app = make_app({"DATABASE_URL": seeded_url, "RATE_LIMIT": "2/second"})
    client = app.test_client()
    for trial in range(8):
        address = {"REMOTE_ADDR": f"192.0.2.{trial + 10}"}
        for _ in range(2):
            client.get("/api/v1/health", environ_base=address)
        refused = client.get("/api/v1/health", environ_base=address)
        if refused.status_code == 429:  # unless a window boundary passed meanwhile
            assert refused.headers["Retry-After"] == "1"


def test_the_rate_limit_counts_fast_lane_and_unrouted_requests(make_app, seeded_url):
    app = make_app({"DATABASE_URL": seeded_url, "RATE_LIMIT": "4/minute"})
    client = app.test_client()
    flask = FlaskRequests(app)
    article = flask.get(client, "/api/v1/articles/885348")
    assert article.status_code == 200
    assert article.through_flask  # the fast lane stepped aside to be counted
    answer = flask.post(client, "/api/v1/applicability", json={"system": SYSTEM})
    assert answer.status_code == 200
    assert answer.through_flask
    assert client.get("/api/v1/no-such-thing").status_code == 404
    assert client.get("/api/v1/articles/885348").status_code == 200
    assert client.get("/api/v1/articles/885348").status_code == 429
    assert client.post("/api/v1/applicability", json={"system": SYSTEM}).status_code == 429
    assert client.get("/api/v1/no-such-thing").status_code == 429


def test_a_rate_limit_that_cannot_be_read_is_a_named_configuration_error(make_app, seeded_url):
    with pytest.raises(ConfigError, match="KB_RATE_LIMIT"):
        make_app({"DATABASE_URL": seeded_url, "RATE_LIMIT": "lots"})
