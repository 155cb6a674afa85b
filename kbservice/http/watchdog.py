"""A time limit on every request a served worker runs (KB_REQUEST_TIMEOUT).

gunicorn's `--timeout` only replaces a worker whose main loop stops reporting; a
gthread worker's loop keeps reporting while one of its threads runs a request for
minutes. So each worker runs a `Watchdog` thread: a request that overruns its
deadline gets `RequestTimedOut` raised in its thread (the client is answered 503),
and a thread that does not stop within the grace period — stuck in C code, where
Python cannot interrupt it — ends the worker, and gunicorn's master starts a new one.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .observability import STREAMED
from .problems import problem_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The logger keeps the name operators filter on, from before the module moved.
log = logging.getLogger("kbservice.watchdog")

# How long a thread told to stop may take before the worker is ended for it.
GRACE = 5.0
# The exit status of a worker ended for a stuck request; the master starts a new one.
STUCK_EXIT = 70


class AnswerAbandoned(Exception):
    """A streamed answer ran past its request's deadline after its head was sent.

    The WSGI server logs it and closes the connection without ending the body, so the
    client sees an incomplete answer, never a complete-looking truncated one.
    """


class RequestTimedOut(BaseException):
    """Raised in a request's thread when it runs past its deadline.

    A BaseException, so that `except Exception` handlers on the way (the fast lanes'
    fallback, Flask's error handling) let it through to `Deadline`.
    """


@dataclass
class _Watched:
    deadline: float
    signalled_at: float | None = None


class Watchdog:
    """Watches the requests of one worker process and stops those that overrun."""

    def __init__(self, timeout: float, grace: float = GRACE) -> None:
        self.timeout = timeout
        self.grace = grace
        self._lock = threading.Lock()
        self._watched: dict[int, _Watched] = {}
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching in this process (after the fork: threads do not survive it)."""
        self._thread = threading.Thread(target=self._run, name="kbservice-watchdog", daemon=True)
        self._thread.start()

    @contextmanager
    def watching(self, deadline: float | None = None) -> Iterator[None]:
        """Run the block until `deadline` (time.monotonic; default: `timeout` from now)."""
        ident = threading.get_ident()
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        with self._lock:
            self._watched[ident] = _Watched(deadline)
        try:
            yield
        finally:
            with self._lock:
                entry = self._watched.pop(ident)
                if entry.signalled_at is not None:
                    # Told to stop but not stopped yet: the exception must not go off
                    # after the request, in the server's own code.
                    _raise_in(ident, None)

    def _run(self) -> None:
        interval = min(0.1, self.timeout / 4)
        while True:
            time.sleep(interval)
            self._check(time.monotonic())

    def _check(self, now: float) -> None:
        with self._lock:
            for ident, entry in self._watched.items():
                if entry.signalled_at is None and now >= entry.deadline:
                    entry.signalled_at = now
                    _raise_in(ident, RequestTimedOut)
                elif entry.signalled_at is not None and now - entry.signalled_at >= self.grace:
                    log.critical(
                        "a request did not stop %.1f s after its %.1f s limit; "
                        "ending worker %d (gunicorn starts a new one)",
                        self.grace,
                        self.timeout,
                        os.getpid(),
                    )
                    logging.shutdown()
                    os._exit(STUCK_EXIT)


def _raise_in(ident: int, exception: type[BaseException] | None) -> None:
    # None withdraws an exception not yet raised.
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exception) if exception else None
    )


class Deadline:
    """WSGI middleware running each request under the watchdog; overruns answer 503."""

    def __init__(self, app: WSGIApplication, watchdog: Watchdog) -> None:
        self.app = app
        self.watchdog = watchdog

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        deadline = time.monotonic() + self.watchdog.timeout
        try:
            with self.watchdog.watching(deadline):
                body = self.app(environ, start_response)
        except RequestTimedOut:
            log.error(
                "%s %s stopped after the %g s request limit",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                self.watchdog.timeout,
            )
            response = problem_response(
                503,
                "Service Unavailable",
                f"The request took longer than {self.watchdog.timeout:g} s and was stopped.",
                problem_type="urn:kbservice:problem:request-timed-out",
                headers={"Retry-After": "5"},
            )
            failure = sys.exc_info()

            def restart(status: str, headers: list[tuple[str, str]], _: Any = None) -> Any:
                # With exc_info, WSGI lets this replace a response the application
                # began but has not sent.
                return start_response(status, headers, failure)

            return response(environ, restart)
        if not environ.get(STREAMED):
            return body  # computed already: sending it is bounded per write (workers.py)
        # A streamed answer (a batch) does its work while it is sent.
        return self._iterate(body, deadline, environ)

    def _iterate(self, body: Iterable[bytes], deadline: float, environ: WSGIEnvironment) -> Any:
        iterator = iter(body)
        try:
            while True:
                try:
                    if time.monotonic() >= deadline:
                        raise RequestTimedOut
                    with self.watchdog.watching(deadline):
                        chunk = next(iterator)
                except StopIteration:
                    return
                except RequestTimedOut:
                    raise AnswerAbandoned(
                        f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')} stopped "
                        f"after the {self.watchdog.timeout:g} s request limit while sending"
                    ) from None
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
