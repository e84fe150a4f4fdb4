"""Structured logs: one line per event, as text or JSON lines, with the request id, and
never a secret.

`configure_logging()` is called once by each composition root (the CLI's `main`, the
server's factory and `post001 serve`); libraries only ever call `logging.getLogger`.
The format comes from `POST001_LOG_FORMAT` (`text`, the default, or `json`) and the
level from `POST001_LOG_LEVEL`.

Every line, exception tracebacks included, passes through `scrub()` before it is
written: API tokens, password hashes, token hashes (SHA-256 hex), bearer credentials,
`password=`/`token=`-style values, URL passwords and SQLAlchemy's `[parameters: ...]`
are replaced. That is the last line of defence: the code logs no secret on purpose,
and the server's engines do not echo SQL parameters into errors.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

FORMAT_ENV = "POST001_LOG_FORMAT"
LEVEL_ENV = "POST001_LOG_LEVEL"
FORMATS = ("text", "json")

#: The request (or CLI invocation) being served; set by the server's middleware.
REQUEST_ID: ContextVar[str | None] = ContextVar("post001_request_id", default=None)

_SCRUBS: list[tuple[re.Pattern[str], str]] = [
    # SQLAlchemy appends the statement's parameters to database errors.
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: hidden]"),
    # post001 API tokens (post001/server/auth.py: "p001_" + 43 url-safe characters).
    (re.compile(r"p001_[A-Za-z0-9_\-]{8,}"), "p001_***"),
    # argon2 password hashes, whatever the variant.
    (re.compile(r"\$argon2(?:id|i|d)\$[A-Za-z0-9$=,+/.\-]*"), "$argon2***"),
    # Token hashes and other SHA-256 digests.
    (re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])"), "<sha256>"),
    # "Authorization: Bearer xyz", "bearer xyz".
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+"), r"\1 ***"),
    # password=..., "token": "...", secret: ... (keys as words or JSON/dict keys).
    (re.compile(r"(?i)(\b(?:password|passwd|secret|token|api_key|authorization)\b[\"']?\s*"
                r"[:=]\s*)(?:\"[^\"]*\"|'[^']*'|[^\s,;&)}\]]+)"), r"\1***"),
    # scheme://user:password@host
    (re.compile(r"(://[^:/@\s]+:)[^@/\s]*@"), r"\1***@"),
]


def scrub(text: str) -> str:
    """`text` with every secret this module knows the shape of replaced."""
    for pattern, replacement in _SCRUBS:
        text = pattern.sub(replacement, text)
    return text


def new_request_id() -> str:
    return uuid.uuid4().hex


#: Record attributes that are not the event's own fields (uvicorn adds an ANSI-coloured
#: copy of its message).
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id",
                                                       "color_message"}


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, the record's
    extra fields, and the exception when there is one; every text scrubbed (before
    encoding, so the line stays valid JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            data["request_id"] = scrub(str(request_id))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                plain = isinstance(value, int | float | bool) or value is None
                data[key] = value if plain else scrub(str(value))
        if record.exc_info:
            data["exception"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            data["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(data, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time level logger [request id] message key=value ...`, scrubbed."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s %(message)s%(extra)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.rid = f" [{request_id}]" if request_id else ""
        extras = {k: v for k, v in record.__dict__.items()
                  if k not in _STANDARD and k not in ("rid", "extra") and not k.startswith("_")}
        record.extra = "".join(f" {k}={v}" for k, v in extras.items())
        return scrub(super().format(record))


_HANDLER_MARK = "_post001_handler"


def configure_logging(fmt: str | None = None, level: str | int | None = None,
                      *, stream: IO[str] | None = None, default_level: str = "WARNING"
                      ) -> logging.Handler:
    """Install post001's one handler on the root logger (replacing a previous one), and
    send uvicorn's loggers through it. Returns the handler."""
    fmt = (fmt or os.environ.get(FORMAT_ENV) or "text").lower()
    if fmt not in FORMATS:
        fmt = "text"
    chosen = level or os.environ.get(LEVEL_ENV) or default_level
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(chosen.upper() if isinstance(chosen, str) else chosen)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # post001.access (the server's middleware) replaces uvicorn's access log.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    return handler
