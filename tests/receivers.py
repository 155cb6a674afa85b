"""A webhook receiver for tests: records what it is sent, answers as a test tells it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One POST as it arrived."""

    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return json.loads(self.raw)

    def signed_by(self, secret: str) -> bool:
        """Whether X-KB-Signature is the HMAC-SHA256 of the raw body under `secret`."""
        expected = "sha256=" + hmac.new(secret.encode(), self.raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("X-KB-Signature", ""), expected)


@dataclass
class Receiver:
    """What was received; `statuses` are answered first, then `status`; `delay` seconds each."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    status: int = 204
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        """The first `count` deliveries answered 2xx, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.accepted) >= count:
                    return list(self.accepted)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.accepted)} of {count} deliveries arrived")

    @property
    def accepted(self) -> list[Received]:
        """The deliveries this receiver answered with a 2xx status."""
        return [r for r in self.received if getattr(r, "ok", False)]


@contextmanager
def receiving(port: int = 0) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (`port` 0: any free port) until the block ends."""
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

        def do_POST(self) -> None:
            receiver = state["receiver"]
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            item = Received(self.path, dict(self.headers.items()), raw)
            with receiver.lock:
                status = receiver.statuses.pop(0) if receiver.statuses else receiver.status
            if receiver.delay:
                time.sleep(receiver.delay)
            item.ok = 200 <= status < 300  # type: ignore[attr-defined]
            with receiver.lock:
                receiver.received.append(item)
            self.send_response(status)
            for name, value in receiver.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    state["receiver"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()
