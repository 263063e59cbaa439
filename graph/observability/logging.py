"""Structured logs: one JSON object per line, with the request's id, and no personal data.

Every HTTP request and websocket gets a request id (the client's `X-Request-ID` when it is
a short token, else a new one), echoed in the `X-Request-ID` response header and stamped on
every log line written while the request runs. One access line per request gives method,
path (never the query string), status, duration, the GraphQL operations with their outcome
and the SQL statements sent.

No personal data: the access line carries no query text, variables, client address or
headers; GraphQL errors the client caused are not logged at all (Strawberry's own error log
is silenced; `graph.core.errors` logs what is unexpected); and every line passes `redact`, which
removes SQL parameters and `DETAIL` lines (where PostgreSQL and SQLAlchemy quote values),
e-mail addresses, CPFs, JWTs and bearer tokens, whatever logger wrote it.
"""

import logging
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("fisioflow.access")

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REDACTIONS = (
    # SQLAlchemy appends the statement's parameters to a DBAPI error's message.
    (re.compile(r"\[parameters: .*?\](?=\n|$)", re.DOTALL), "[parameters: redacted]"),
    (re.compile(r"\[parameters: .*", re.DOTALL), "[parameters: redacted]"),
    # PostgreSQL's DETAIL quotes the offending values: `Key (cpf)=(52998224725) ...`.
    (re.compile(r"(DETAIL:)[^\n]*"), r"\1 redacted"),
    (re.compile(r"\bKey \([^)]*\)=\([^)]*\)"), "Key redacted"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[token]"),
    (re.compile(r"(?i)\bbearer\s+\S+"), "Bearer [token]"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), "[email]"),
    (re.compile(r"(?<!\d)\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?!\d)"), "[cpf]"),
)


def redact(text: str) -> str:
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


@dataclass
class RequestInfo:
    """What one request did, gathered while it runs (for its access line and metrics)."""

    request_id: str
    method: str
    path: str
    started: float = field(default_factory=time.perf_counter)
    operations: list[tuple[str, str, str]] = field(default_factory=list)
    statements: int = 0


current_request: ContextVar[RequestInfo | None] = ContextVar("fisioflow_request", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        info = current_request.get()
        if info is not None:
            entry["request_id"] = info.request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server process (uvicorn's loggers included)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"handlers": ["stdout"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            # Off: uvicorn's access line has the query string; ours (fisioflow.access) not.
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
            # Strawberry logs every GraphQL error, with values the client sent; the ones that
            # matter (unexpected) are logged by graph.errors.
            "strawberry.execution": {"handlers": [], "propagate": False, "level": "CRITICAL"},
            # /readyz reads the migration revision; Alembic would announce it every time.
            "alembic": {"level": "WARNING"},
        },
    }


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers") or []:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Gives each request an id and a `RequestInfo`; writes its access line at the end."""

    def __init__(self, app: ASGIApp, on_finish: Any = None) -> None:
        self.app = app
        self.on_finish = on_finish

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "WEBSOCKET")
        info = RequestInfo(_request_id(scope), method, scope.get("path", ""))
        token = current_request.set(info)
        status = 500 if scope["type"] == "http" else 101
        header = (b"x-request-id", info.request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            elif message["type"] == "websocket.close":
                status = message.get("code", 1000)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - info.started
            if self.on_finish is not None:
                self.on_finish(scope, info, status, duration)
            fields: dict[str, Any] = {
                "method": method,
                "path": info.path,
                "status": status,
                "duration_ms": round(duration * 1000, 2),
            }
            if info.operations:
                fields["operations"] = [
                    {"name": name, "type": kind, "outcome": outcome}
                    for name, kind, outcome in info.operations
                ]
                fields["sql_statements"] = info.statements
            access_log.info("request", extra={"fields": fields})
            current_request.reset(token)
