"""Sending deliveries: claim a webhook, POST its pending deliveries in order, record each.

Several workers (threads of one process, processes, machines on one PostgreSQL) share
the work by webhook: a worker claims webhooks with due deliveries (`FOR UPDATE SKIP
LOCKED` on PostgreSQL, the write lock on SQLite) and leases them for a while, so no two
workers send one webhook's deliveries at once, and a slow receiver holds up only its own
webhook. Successful results are committed together, at the end of each batch read and
at least every second, a failure at once (after the successes before it); a worker that
dies between sending and committing leaves its lease to expire, and the deliveries it
had not recorded are sent again (at least once; duplicates only after a crash).
Deliveries of one webhook leave in the order they were written, and a failed one is
retried before any later one is sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import urllib3
from sqlalchemy import bindparam, exists, or_, select, update

from ..storage.db import Database, utcnow
from .models import Delivery, Webhook

log = logging.getLogger("kbservice.notify")

# Deliveries read per round trip while a webhook is claimed.
_BATCH = 50
# Bytes of a receiver's answer read (and ignored) so the connection can be reused.
_ANSWER_BYTES = 64 * 1024
# Successful results are committed together, at least this often (seconds) and at the
# end of each batch: one commit per delivery capped throughput at the database's commit
# rate. The lease (3 × timeout + 5 s) outlasts this plus one attempt.
_RECORD_EVERY = 1.0
# Webhooks `run_once` claims at most.
_CLAIM_ONCE = 10_000
# Hosts whose idle connections are kept (urllib3 pools).
_HOSTS_KEPT = 16


@dataclass(frozen=True)
class DeliverySettings:
    """How deliveries are sent and retried (KB_WEBHOOK_* settings)."""

    timeout: float = 10.0
    retry_base: float = 10.0
    retry_max: float = 3600.0
    max_failures: int = 20
    concurrency: int = 4
    poll: float = 1.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliverySettings:
        """The settings of an app's configuration."""
        return cls(
            timeout=float(config["WEBHOOK_TIMEOUT"]),
            retry_base=float(config["WEBHOOK_RETRY_BASE"]),
            retry_max=float(config["WEBHOOK_RETRY_MAX"]),
            max_failures=int(config["WEBHOOK_MAX_FAILURES"]),
            concurrency=int(config["WEBHOOK_CONCURRENCY"]),
            poll=float(config["WEBHOOK_POLL"]),
        )

    @property
    def lease(self) -> dt.timedelta:
        """How long a claim on a webhook lasts; renewed after every attempt."""
        return dt.timedelta(seconds=3 * self.timeout + 5)

    def retry_delay(self, attempts: int) -> dt.timedelta:
        """The wait after the `attempts`-th failed attempt: doubling from retry_base."""
        return dt.timedelta(seconds=min(self.retry_base * 2 ** (attempts - 1), self.retry_max))


_HOOKS, _DELIVERIES = Webhook.__table__, Delivery.__table__
_RENEW = (
    update(_HOOKS)
    .where(_HOOKS.c.id == bindparam("hook"), _HOOKS.c.lease_owner == bindparam("owner"))
    .values(lease_until=bindparam("until"), failures=0, retry_at=None)
)
_DELIVERED = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("row"), _DELIVERIES.c.status == "pending")
    .values(
        status="delivered",
        attempts=_DELIVERIES.c.attempts + 1,
        last_status=bindparam("code"),
        last_error=None,
        delivered_at=bindparam("at"),
    )
)


def signature(secret: str, body: bytes) -> str:
    """The X-KB-Signature value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Sender:
    """POSTs over pooled connections with a timeout; follows no redirect."""

    def __init__(self, settings: DeliverySettings) -> None:
        # At most `concurrency` connections per host (block=True waits for a free one);
        # idle ones kept for _HOSTS_KEPT hosts.
        self._pool = urllib3.PoolManager(
            num_pools=_HOSTS_KEPT,
            maxsize=settings.concurrency,
            block=True,
            retries=False,
            timeout=urllib3.Timeout(total=settings.timeout),
        )

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int | None, str | None]:
        """The receiver's status, or None and what went wrong (refused, timed out …)."""
        try:
            response = self._pool.request(
                "POST",
                url,
                body=body,
                headers=dict(headers),
                redirect=False,
                preload_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            return None, type(exc).__name__
        try:
            response.read(_ANSWER_BYTES)
        except urllib3.exceptions.HTTPError:
            pass  # the status is what counts
        finally:
            response.release_conn()
        return response.status, None

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.clear()


def worker_name() -> str:
    """A name unique to this process among the workers: host, process id, random."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DeliveryWorker:
    """Claims webhooks with due deliveries and sends them, on a few threads."""

    def __init__(
        self, database: Database, settings: DeliverySettings, sender: Sender | None = None
    ) -> None:
        self.database = database
        self.settings = settings
        self.sender = sender or Sender(settings)
        self.name = worker_name()
        # SQLite has one writer: threads that queue here instead of in its busy handler
        # (which sleeps milliseconds between tries) record twice as many results a second.
        self._writing: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if database.dialect == "sqlite" else contextlib.nullcontext()
        )

    def run(self, stop: threading.Event, alive: Callable[[], bool] = lambda: True) -> None:
        """Deliver until `stop` is set or `alive()` turns false."""
        active: dict[int, Future[None]] = {}
        with ThreadPoolExecutor(self.settings.concurrency, "kb-delivery") as pool:
            while not stop.is_set() and alive():
                for hook_id in [h for h, f in active.items() if f.done()]:
                    error = active.pop(hook_id).exception()
                    if error is not None:
                        log.error("Delivery to webhook %s failed: %r", hook_id, error)
                free = self.settings.concurrency - len(active)
                claimed = self._guarded_claim(free) if free else []
                for hook_id in claimed:
                    active[hook_id] = pool.submit(self.serve_webhook, hook_id)
                stop.wait(0.05 if claimed or active else self.settings.poll)
        self.sender.close()

    def run_once(self) -> int:
        """Try each webhook with due deliveries once, in turn; how many deliveries were tried."""
        return sum(self.serve_webhook(hook_id) for hook_id in self.claim(_CLAIM_ONCE))

    def _guarded_claim(self, limit: int) -> list[int]:
        try:
            return self.claim(limit)
        except Exception:
            # The database is away (restarting): try again after the poll interval.
            log.exception("Could not look for due webhook deliveries")
            return []

    def claim(self, limit: int) -> list[int]:
        """Lease up to `limit` enabled webhooks that have a due delivery and no live lease."""
        now = utcnow()
        due = exists().where(Delivery.webhook_id == Webhook.id, Delivery.status == "pending")
        with self.database.write() as session:
            ids = list(
                session.scalars(
                    select(Webhook.id)
                    .where(
                        Webhook.enabled.is_(True),
                        or_(Webhook.lease_until.is_(None), Webhook.lease_until < now),
                        or_(Webhook.retry_at.is_(None), Webhook.retry_at <= now),
                        due,
                    )
                    .order_by(Webhook.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True, of=Webhook)
                )
            )
            if ids:
                session.execute(
                    update(Webhook)
                    .where(Webhook.id.in_(ids))
                    .values(lease_owner=self.name, lease_until=now + self.settings.lease)
                )
        return ids

    def serve_webhook(self, hook_id: int) -> int:
        """Send the claimed webhook's pending deliveries in order until one fails; how many."""
        sent = 0
        try:
            while True:
                with self.database.session() as session:
                    hook = session.get(Webhook, hook_id)
                    if hook is None or hook.lease_owner != self.name:
                        return sent
                    url, secret = hook.url, hook.secret
                    batch = session.execute(
                        select(Delivery.id, Delivery.delivery, Delivery.event, Delivery.body)
                        .where(Delivery.webhook_id == hook_id, Delivery.status == "pending")
                        .order_by(Delivery.id)
                        .limit(_BATCH)
                    ).all()
                done: list[dict[str, Any]] = []
                recorded = time.monotonic()
                for delivery_id, name, event, text in batch:
                    sent += 1
                    status, error = self._send(url, secret, name, event, text)
                    if status is None or not 200 <= status < 300:
                        if self._record_delivered(hook_id, done):
                            self._record_failure(
                                hook_id, delivery_id, status, error or f"HTTP {status}"
                            )
                        return sent
                    done.append({"row": delivery_id, "code": status, "at": utcnow()})
                    if time.monotonic() - recorded >= _RECORD_EVERY:
                        if not self._record_delivered(hook_id, done):
                            return sent
                        done, recorded = [], time.monotonic()
                if not self._record_delivered(hook_id, done) or len(batch) < _BATCH:
                    return sent
        finally:
            self._release(hook_id)

    def _send(
        self, url: str, secret: str, name: str, event: str, text: str
    ) -> tuple[int | None, str | None]:
        """POST one delivery's stored body, signed; the receiver's status or what went wrong."""
        body = text.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "kbservice-webhooks",
            "X-KB-Event": event,
            "X-KB-Delivery": name,
            "X-KB-Signature": signature(secret, body),
        }
        return self.sender.post(url, body, headers)

    def _record_delivered(self, hook_id: int, done: list[dict[str, Any]]) -> bool:
        """Mark `done` delivered and renew the lease in one commit; False if the lease is lost."""
        if not done:
            return True
        with self._writing, self.database.write() as session:
            # Two Core statements compiled once, no rows loaded.
            connection = session.connection()
            renewed = connection.execute(
                _RENEW,
                {"hook": hook_id, "owner": self.name, "until": utcnow() + self.settings.lease},
            )
            if renewed.rowcount != 1:
                return False  # the lease ran out and another worker took over: it resends
            connection.execute(_DELIVERED, done)
        return True

    def _record_failure(
        self, hook_id: int, delivery_id: int, status: int | None, error: str
    ) -> None:
        """Count a failed attempt: the delivery and its webhook wait before the next one."""
        now = utcnow()
        with self._writing, self.database.write() as session:
            hook = session.scalar(
                select(Webhook).where(Webhook.id == hook_id, Webhook.lease_owner == self.name)
            )
            delivery = session.get(Delivery, delivery_id)
            if hook is None or delivery is None or delivery.status != "pending":
                return
            delivery.attempts += 1
            delivery.last_status = status
            delivery.last_error = error
            delivery.next_attempt_at = now + self.settings.retry_delay(delivery.attempts)
            hook.lease_until = now + self.settings.lease
            hook.retry_at = delivery.next_attempt_at
            hook.failures += 1
            if hook.failures >= self.settings.max_failures:
                hook.enabled, hook.disabled_at = False, now
                log.warning(
                    "Webhook %s is disabled after %s failed attempts in a row; an admin "
                    "enables it again with PATCH /api/v1/webhooks/%s.",
                    hook_id,
                    hook.failures,
                    hook_id,
                )
        log.info(
            "Delivery %s to webhook %s failed (%s); retried later", delivery_id, hook_id, error
        )

    def _release(self, hook_id: int) -> None:
        try:
            with self.database.write() as session:
                session.execute(
                    update(Webhook)
                    .where(Webhook.id == hook_id, Webhook.lease_owner == self.name)
                    .values(lease_owner=None, lease_until=None)
                )
        except Exception:
            log.exception("Could not release webhook %s; its lease runs out by itself", hook_id)
