"""Log output a client cannot forge lines into: every record is written as one line."""

from __future__ import annotations

import logging

# C0 controls, DEL, C1 controls and the Unicode line and paragraph separators: any of
# them in a request path or header could start a forged line or drive a terminal.
_ESCAPES: dict[int, str] = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))},
    0x09: "\\t",
    0x0A: "\\n",
    0x0D: "\\r",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def escape_controls(text: str) -> str:
    """`text` with control characters and line separators written as backslash escapes."""
    # Every character translate() would change is non-printable; the check costs a
    # tenth of the translation, and nearly every log line passes it.
    return text if text.isprintable() else text.translate(_ESCAPES)


class OneLineFormatter(logging.Formatter):
    """Wraps a handler's formatter so that each record, traceback included, is one line.

    Escaping the formatted output covers messages, their arguments and exception texts
    (a database error may quote client input), whatever the logging call looked like.
    """

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(self.inner.format(record))


def one_line_records(logger: logging.Logger) -> None:
    """Make every handler of `logger` write one line per record (idempotent)."""
    for handler in logger.handlers:
        if not isinstance(handler.formatter, OneLineFormatter):
            handler.setFormatter(OneLineFormatter(handler.formatter))


def configure_logging(level: str) -> None:
    """Log to stderr at `level` (unless logging is configured already), one line per record."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # gunicorn's loggers do not propagate to the root logger; `gunicorn wsgi:app` has
    # set them up by the time the application is built.
    for name in ("", "gunicorn.error", "gunicorn.access"):
        one_line_records(logging.getLogger(name))
