"""gunicorn workers for `kbservice serve`: bounded request heads, a problem+json 414.

gunicorn's gthread worker hands a connection to a thread as soon as its first bytes
arrive, and the thread then blocks until the rest of the request head comes: a few
clients sending half a request hold every thread. `BoundedThreadWorker` reads request
heads in its event loop instead and hands a connection to a thread only with a
complete head; a head not complete within `client_timeout` seconds is answered 408.
The sync worker (`--threads 1`) reads one connection at a time and can only bound
each head by the same time: it needs a buffering proxy in front (docs/deployment.md).

After the head, each socket read (the body) and write (the answer) must make progress
within `client_timeout` seconds too: a body that stalls is answered 408 (api/hardening.py),
and no thread waits on one client longer than that per step. The watchdog bounds the
request as a whole (watchdog.py).
"""

from __future__ import annotations

import errno
import json
import socket
import time
from collections import deque
from functools import partial
from selectors import EVENT_READ
from typing import Any

from gunicorn import util
from gunicorn.http.errors import LimitRequestLine
from gunicorn.workers.gthread import TConn, ThreadWorker
from gunicorn.workers.sync import SyncWorker

from ..http.problems import PROBLEM_MEDIA_TYPE

# The API contract: request lines up to 8,000 bytes reach the application.
MAX_REQUEST_LINE = 8000
# A head this long is handed on complete or not: the parser refuses it by its limits.
_HEAD_CAP = 64 * 1024
_END_OF_HEAD = b"\r\n\r\n"


def problem_bytes(status: int, reason: str, detail: str) -> bytes:
    """A complete HTTP/1.1 problem+json response that closes the connection."""
    body = json.dumps(
        {"type": "about:blank", "title": reason, "status": status, "detail": detail}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: {PROBLEM_MEDIA_TYPE}\r\nContent-Length: {len(body)}\r\n"
        "X-Content-Type-Options: nosniff\r\n\r\n"
    )
    return head.encode("latin-1") + body


_TOO_LONG = problem_bytes(
    414,
    "URI Too Long",
    f"The request line is longer than the limit of {MAX_REQUEST_LINE} bytes.",
)


def _timed_out(seconds: float) -> bytes:
    detail = f"The request head did not arrive within {seconds:g} s."
    return problem_bytes(408, "Request Timeout", detail)


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    # Best effort: the client may be gone, or not reading.
    try:
        sock.setblocking(False)
        sock.send(data)
    except OSError:
        pass


class _Bounded:
    """What both workers share: the limits and the 414 answer."""

    client_timeout = 5.0
    log: Any

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if isinstance(exc, LimitRequestLine):
            # gunicorn answers 414 too, but as an HTML page; the API speaks problem+json.
            self.log.warning("Request line too long from ip=%s: %s", (addr or ("",))[0], exc)
            try:
                util.write_nonblock(client, _TOO_LONG)
            except OSError:
                self.log.debug("Failed to send the 414 answer.")
            return
        super().handle_error(req, client, addr, exc)  # type: ignore[misc]


class _HeadConn(TConn):  # type: ignore[misc]
    """A connection whose request head the event loop reads before a thread takes it."""

    def __init__(self, *args: Any, client_timeout: float) -> None:
        super().__init__(*args)
        self.client_timeout = client_timeout
        self.head = bytearray()
        self.deadline = 0.0

    def init(self) -> None:
        # Runs in the thread for each request of the connection.
        super().init()
        if self.head:
            self.parser.unreader.unread(bytes(self.head))
            self.head = bytearray()
        self.sock.settimeout(self.client_timeout)


class BoundedThreadWorker(_Bounded, ThreadWorker):  # type: ignore[misc]
    """gthread, with request heads read by the event loop and bounded in time."""

    def init_process(self) -> None:
        self.reading: deque[_HeadConn] = deque()
        super().init_process()

    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = _HeadConn(
            self.cfg, client, address, listener.getsockname(), client_timeout=self.client_timeout
        )
        self._await_head(conn)

    def on_client_socket_readable(self, conn: _HeadConn, client: socket.socket) -> None:
        # The next request on a kept-alive connection: its head is read the same way.
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._await_head(conn)

    def _await_head(self, conn: _HeadConn) -> None:
        conn.deadline = time.monotonic() + self.client_timeout
        self.reading.append(conn)
        self.poller.register(conn.sock, EVENT_READ, partial(self._read_head, conn))

    def _read_head(self, conn: _HeadConn, _: Any) -> None:
        try:
            data = conn.sock.recv(_HEAD_CAP)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            searched = max(len(conn.head) - len(_END_OF_HEAD) + 1, 0)
            conn.head += data
            if conn.head.find(_END_OF_HEAD, searched) < 0 and len(conn.head) < _HEAD_CAP:
                return
        self.poller.unregister(conn.sock)
        self.reading.remove(conn)
        if not data:
            self.nr_conns -= 1
            conn.close()
            return
        conn.data_ready = True
        self.enqueue_req(conn)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        while self.reading and self.reading[0].deadline <= now:
            conn = self.reading.popleft()
            self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            if conn.head:  # a client that sent nothing gets no answer, as on keep-alive
                _send_quietly(conn.sock, _timed_out(self.client_timeout))
            conn.close()

    def handle_request(self, req: Any, conn: _HeadConn) -> Any:
        conn.sock.settimeout(self.client_timeout)
        return super().handle_request(req, conn)


class BoundedSyncWorker(_Bounded, SyncWorker):  # type: ignore[misc]
    """sync, with each request head bounded in time."""

    def accept(self, listener: socket.socket) -> None:
        client, address = listener.accept()
        util.close_on_exec(client)
        if self._head_arrives(client):
            client.settimeout(self.client_timeout)
            self.handle(listener, client, address)
        else:
            util.close(client)

    def _head_arrives(self, client: socket.socket) -> bool:
        """Whether a complete head (or one the parser will refuse) arrives in time.

        Peeking leaves the bytes for the parser. The socket stays readable while a
        head is incomplete, so the next look waits a moment instead of on the socket.
        """
        deadline = time.monotonic() + self.client_timeout
        seen = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if seen:
                    _send_quietly(client, _timed_out(self.client_timeout))
                return False
            client.settimeout(remaining)
            try:
                head = client.recv(_HEAD_CAP, socket.MSG_PEEK)
            except TimeoutError:
                continue
            except OSError:
                return False
            if not head or _END_OF_HEAD in head or len(head) >= _HEAD_CAP:
                return bool(head)
            if len(head) == seen:
                time.sleep(min(0.02, remaining))
            seen = len(head)

    def handle_request(self, listener: Any, req: Any, client: socket.socket, addr: Any) -> Any:
        client.settimeout(self.client_timeout)
        return super().handle_request(listener, req, client, addr)


def worker_class(threads: int, *, client_timeout: float) -> type:
    """The worker class for `threads` threads per worker, with these limits."""
    base = BoundedThreadWorker if threads > 1 else BoundedSyncWorker
    return type(
        base.__name__,
        (base,),
        {"client_timeout": client_timeout},
    )
