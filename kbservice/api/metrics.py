"""GET /metrics: who may read it (KB_METRICS) and on which listener (KB_METRICS_BIND)."""

from __future__ import annotations

import contextlib
import ipaddress
import re
from typing import TYPE_CHECKING, Any

from flask import Flask, Response

from ..access.tokens import Role
from ..config import ConfigError
from ..http.observability import exposition
from ..http.problems import problem_response
from .auth import require

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PATH = "/metrics"
MODES = ("token", "public", "off")
# gunicorn's form of an address: IPv6 in brackets.
_BIND = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<v4>[0-9.]+)):(?P<port>[0-9]{1,5})$")


def metrics_listener(bind: str) -> tuple[str, str]:
    """The (address, port) of a KB_METRICS_BIND value such as `127.0.0.1:9100` or `[::1]:9100`.

    An IP address, not a host name: the listener is recognised by the address the WSGI
    server reports for the socket that accepted the request (SERVER_NAME, SERVER_PORT),
    which is the resolved, canonical form.
    """
    match = _BIND.match(bind)
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    port = int(match["port"]) if match else 0
    if match and 0 < port < 65536:
        with contextlib.suppress(ValueError):
            address = (
                ipaddress.IPv6Address(match["v6"])
                if match["v6"]
                else ipaddress.IPv4Address(match["v4"])
            )
    if address is None:
        raise ConfigError(
            f"KB_METRICS_BIND must be IP:port (e.g. 127.0.0.1:9100 or [::1]:9100), got {bind!r}"
        )
    return str(address), str(port)


class MetricsListener:
    """WSGI middleware: /metrics only on the metrics listener, everything else elsewhere.

    Gunicorn sets SERVER_NAME and SERVER_PORT from the listening socket (for TCP
    listeners), not from the client's Host header, so a client cannot choose the side.
    """

    def __init__(self, app: WSGIApplication, listener: tuple[str, str]) -> None:
        self.app = app
        self.listener = listener

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        on_listener = (environ.get("SERVER_NAME"), environ.get("SERVER_PORT")) == self.listener
        if on_listener == (environ.get("PATH_INFO") == PATH):
            return self.app(environ, start_response)
        detail = (
            f"This listener answers only {PATH}."
            if on_listener
            else f"{PATH} is served on a listener of its own."
        )
        return problem_response(404, "Not Found", detail)(environ, start_response)


def init_metrics(app: Flask) -> None:
    """Serve /metrics as KB_METRICS and KB_METRICS_BIND say."""
    mode, bind = app.config["METRICS"], app.config["METRICS_BIND"]
    if mode not in MODES:
        raise ConfigError(f"KB_METRICS must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "off":
        if bind:
            raise ConfigError("KB_METRICS_BIND has nothing to serve while KB_METRICS=off")
        return
    listener = metrics_listener(bind) if bind else None

    def serve_metrics() -> Response:
        body, content_type = exposition()
        return Response(body, content_type=content_type)

    # Request counts and latencies reveal traffic patterns: by default only token
    # holders (any role; a reader token is enough) may read them.
    view = require(Role.READER)(serve_metrics) if mode == "token" else serve_metrics
    app.add_url_rule(PATH, "metrics", view)
    if listener is not None:
        app.wsgi_app = MetricsListener(app.wsgi_app, listener)  # type: ignore[method-assign]
