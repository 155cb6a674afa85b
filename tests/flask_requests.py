"""Telling whether a request reached Flask's dispatch or was answered by a fast path."""

from __future__ import annotations

from typing import Any

from flask import Flask, request_started
from flask.testing import FlaskClient

from .conftest import make_token


class FlaskRequests:
    """Counts requests that reached Flask's dispatch (its request_started signal)."""

    def __init__(self, app: Flask) -> None:
        self.count = 0
        request_started.connect(self._started, app, weak=False)

    def _started(self, _sender: object, **_extra: object) -> None:
        self.count += 1

    def open(self, client: FlaskClient, *args: Any, **kwargs: Any) -> Any:
        """`client.open(...)`; the response's `through_flask` says which path answered."""
        before = self.count
        response = client.open(*args, **kwargs)
        response.through_flask = self.count > before
        return response

    def get(self, client: FlaskClient, *args: Any, **kwargs: Any) -> Any:
        return self.open(client, *args, method="GET", **kwargs)

    def post(self, client: FlaskClient, *args: Any, **kwargs: Any) -> Any:
        return self.open(client, *args, method="POST", **kwargs)


def comparable(response: Any) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status, headers and body, without what differs between any two responses."""
    headers = [(k, v) for k, v in response.headers if k not in ("X-Request-ID", "Date")]
    return response.status, headers, response.get_data()


def scrape(client: FlaskClient) -> str:
    """/metrics as a Prometheus scraper sees it (with a reader token, as KB_METRICS=token asks)."""
    token = make_token(client.application, "reader")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def requests_counted(client: FlaskClient, endpoint: str, status: int = 200) -> float:
    """What /metrics counts for `endpoint` answering `status`."""
    text = scrape(client)
    line = next(
        line
        for line in text.splitlines()
        if line.startswith("kb_http_requests_total{")
        and f'endpoint="{endpoint}"' in line
        and f'status="{status}"' in line
    )
    return float(line.rsplit(" ", 1)[1])
