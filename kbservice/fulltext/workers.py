"""Tokenizing batches of documents in worker processes while the caller writes earlier ones.

Tokenizing is pure Python and most of a bulk load's CPU, so `Tokenizers(jobs)` forks
`jobs` processes that turn batches of texts into index forms (fulltext.documents), in
order and with at most `AHEAD * jobs` batches in flight, so memory stays bounded. The
database is only ever written by the calling process, in its transaction: a failed
batch raises `TokenizingFailed` there and the caller's transaction rolls back. Workers
ignore SIGINT (Ctrl-C reaches the caller, which stops them) and end with their parent.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, TypeVar

from .documents import IndexForm, document_terms, index_form

# Batches queued per worker beyond the one it works on: enough to never starve a worker
# while the caller writes, few enough to bound memory (a batch is a few MiB of text).
AHEAD = 2
# prctl(2) option: the signal a process gets when its parent ends.
_PR_SET_PDEATHSIG = 1

Batch = TypeVar("Batch")
# A document to tokenize: its title and its body's segments (fulltext.indexer.body_segments).
Source = tuple[str, Sequence[str]]


class TokenizingFailed(RuntimeError):
    """A batch could not be tokenized (in a worker process or in-process); nothing is written."""


def default_jobs() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def index_forms(sources: Sequence[Source], tsvector: bool) -> list[IndexForm]:
    """Each document's index form (FTS5 texts and, if asked, the tsvector literal)."""
    return [
        index_form(document_terms([title]), document_terms(segments), tsvector=tsvector)
        for title, segments in sources
    ]


class Tokenizers:
    """`jobs` worker processes (none for jobs=1: tokenize in-process), as a context manager."""

    def __init__(
        self, jobs: int, *, tsvector: bool, check: Callable[[Any], object] | None = None
    ) -> None:
        # `check`, a module-level function, is called in the worker on each item that
        # `forms(checked=...)` hands over with a batch's texts, before they are tokenized.
        self.jobs = jobs
        self.tsvector = tsvector
        self.check = check
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Tokenizers:
        if self.jobs > 1:
            self._pool = ProcessPoolExecutor(
                self.jobs,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
            try:
                _fork_workers(self._pool)
            except BaseException:  # Ctrl-C while forking: __exit__ will not run
                self._stop()
                raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._pool is not None:
            # Workers finish the batch they are on (a fraction of a second), then exit.
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def forms(
        self,
        batches: Iterable[Batch],
        sources: Callable[[Batch], Sequence[Source]],
        checked: Callable[[Batch], Sequence[Any]] = lambda _: (),
    ) -> Iterator[tuple[Batch, list[IndexForm]]]:
        """Each batch with the index forms of `sources(batch)`, in the order of `batches`.

        `batches` is consumed in the calling thread, a few batches ahead of what is yielded.
        """
        if self._pool is None:
            for batch in batches:
                try:
                    forms = _work(sources(batch), self.tsvector, self.check, checked(batch))
                except Exception as exc:
                    raise TokenizingFailed(f"tokenizing failed: {exc!r}") from exc
                yield batch, forms
            return
        pending: deque[tuple[Batch, Future[list[IndexForm]]]] = deque()
        for batch in batches:
            args = (sources(batch), self.tsvector, self.check, checked(batch))
            try:
                future = self._pool.submit(_work, *args)
            except BrokenProcessPool as exc:
                raise _broken() from exc
            pending.append((batch, future))
            if len(pending) >= AHEAD * self.jobs:
                yield _result(*pending.popleft())
        while pending:
            yield _result(*pending.popleft())


def _work(
    sources: Sequence[Source],
    tsvector: bool,
    check: Callable[[Any], object] | None,
    items: Sequence[Any],
) -> list[IndexForm]:
    if check is not None:
        for item in items:
            check(item)
    return index_forms(sources, tsvector)


def _result(batch: Batch, future: Future[list[IndexForm]]) -> tuple[Batch, list[IndexForm]]:
    try:
        return batch, future.result()
    except BrokenProcessPool as exc:
        raise _broken() from exc
    except Exception as exc:
        raise TokenizingFailed(f"tokenizing failed in a worker process: {exc!r}") from exc


def _broken() -> TokenizingFailed:
    return TokenizingFailed(
        "a tokenizing worker process ended abruptly (killed, or out of memory?)"
    )


def _fork_workers(pool: ProcessPoolExecutor) -> None:
    """Start the workers (the first task forks them all), holding back Ctrl-C meanwhile.

    A SIGINT during the forks would be lost in the parent (KeyboardInterrupt raised in an
    at-fork handler is only printed) or kill a worker before it ignores SIGINT. So the
    workers are forked with SIGINT blocked (they unblock it once ignored), and this
    process notes a SIGINT that another thread receives and raises it afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        pool.submit(int)
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, _: held.append(number))
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pool.submit(int)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        signal.signal(signal.SIGINT, previous)
    if held and callable(previous):
        previous(signal.SIGINT, None)


def _start_worker(parent: int) -> None:
    """Leave Ctrl-C to the parent, and end when it ends, however it ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent ended before prctl took effect
        os._exit(1)
