"""Logging of ``tuyacloud serve``: text or one JSON object per line on stderr, and the optional access log.

Secrets are kept out of logs by construction, with a safety net:

* the access log is built from fields chosen here (method, route template, a path whose secret segments are
  masked, status, Tuya code, duration, client address, Access ID, trace id); never headers (``access_token``,
  ``sign``, cookies, ``Authorization``), never the query string, never a body;
* every other record (ours, uvicorn's, tracebacks) is scrubbed before it is written: the value after a key that
  names a secret (``access_token=...``, ``"password": "..."``, ``Authorization: Bearer ...``) becomes ``***``.

stdout is not a log: it carries the start banner (which shows the credentials a user needs, as it always has)
and the one line printed on shutdown.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
ACCESS_LOGGER = "tuyacloud.access"

_SECRET_KEYS = (r"access_token|refresh_token|access_secret|accesssecret|secret|password|passwd|sign|"
                r"authorization|cookie|set-cookie|tuyacloud_console|session|local_key|api_key")
_SECRET_VALUE = re.compile(
    rf"""(?ix)
    (["']?\b(?:{_SECRET_KEYS})\b["']?)         # the key, maybe quoted
    (\s*[:=]\s*["']?)                          # = or :, maybe a quote
    (?:bearer\s+)?                             # Authorization: Bearer <token>
    ([^\s"',;&}}\]]+)                          # the value up to a delimiter
    """
)
# A path segment that looks like a token (32 hex and longer ids): masked in paths that matched no route.
_OPAQUE_SEGMENT = re.compile(r"^[A-Za-z0-9_.~-]{24,}$")
# Route parameters whose values are secrets: their template stays in the logged path.
SECRET_PARAMS = ("{refresh_token}", "{token}")


def scrub(text: str) -> str:
    """The text with the value of every ``secret-key = value`` pair replaced by ``***``."""
    return _SECRET_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def loggable_path(template: str | None, path: str) -> str:
    """The request path as the access log shows it: never the query string; a secret route parameter
    (a refresh token, a pairing token) as its template; in a path that matched no route, token-like segments
    masked, since nothing says what they are."""
    if template is None:
        return "/".join("***" if _OPAQUE_SEGMENT.match(s) else s for s in path.split("/"))
    if not any(p in template for p in SECRET_PARAMS):
        return path
    wanted, given = template.split("/"), path.rstrip("/").split("/")
    if len(wanted) != len(given):
        return template
    return "/".join(w if w in SECRET_PARAMS else g for w, g in zip(wanted, given, strict=True))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if getattr(record, "safe", False) else scrub(text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``, ``msg``, the
    record's structured ``fields`` (the access log's), and ``exc`` with the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        safe = getattr(record, "safe", False)
        message = record.getMessage()
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": message if safe else scrub(message),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exc"] = scrub(record.exc_text)
        return orjson.dumps(out, default=str).decode()


def configure(log_format: str = "text") -> None:
    """Route every log record (ours, uvicorn's, alembic's) to one stderr handler in the chosen format.

    uvicorn must be started with ``log_config=None`` so that it keeps its loggers' records flowing to this
    handler instead of installing its own text handlers.
    """
    if log_format not in FORMATS:
        raise ValueError(f"unknown log format {log_format!r}: use text or json")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations run at every start: say nothing routine
    # httpx and httpcore log every request at INFO: the console's API Explorer calls the server's own OpenAPI with
    # httpx, and each call would print a line about a request the access log (off by default) already covers.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True


class AccessLog:
    """One line per HTTP request on the ``tuyacloud.access`` logger (``--access-log``)."""

    def __init__(self) -> None:
        self.log = logging.getLogger(ACCESS_LOGGER)

    def write(self, *, method: str, route: str, path: str, status: int, code: str, seconds: float, client: str,
              client_id: str = "", tid: str = "") -> None:
        ms = round(seconds * 1000, 2)
        fields: dict[str, Any] = {"method": method, "route": route, "path": path, "status": status}
        if code:
            fields["code"] = code
        fields.update(ms=ms, client=client)
        if client_id:
            fields["client_id"] = client_id
        if tid:
            fields["tid"] = tid
        extra = (f" client_id={client_id}" if client_id else "") + (f" tid={tid}" if tid else "")
        self.log.info('%s "%s %s" %d %s %.2fms%s', client or "-", method, path, status, code or "-", ms, extra,
                      extra={"fields": fields, "safe": True})
