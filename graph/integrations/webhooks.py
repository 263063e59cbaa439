"""The webhook worker: one per server process, every `FISIOFLOW_WEBHOOK_INTERVAL_SECONDS`.

Each round, with `at` = now (a parameter, so tests place "now" where they need it):

1. **Dispatch** (`dispatch`): in one short transaction, lock the dispatch position
   (`FOR UPDATE SKIP LOCKED`: another process dispatching means this one skips), read the
   events after it (`events_after`, in commit order), insert a delivery for each enabled
   webhook of the event's clinic subscribed to its WebhookEvent (and created before it), and
   move the position past them. The deliveries and the position commit together: an event
   becomes deliveries exactly once.
2. **Send** (`send_due`): claim due deliveries (`SKIP LOCKED`, the attempt counted and the
   next one moved a lease ahead) and commit; send them, signed, to the address the URL
   resolves to now (graph/integrations/webhook_urls.py); record each attempt (status, time,
   error class — no response body) and the outcome: delivered on a 2xx; pending again after
   a backoff with jitter; dead after `FISIOFLOW_WEBHOOK_ATTEMPTS` attempts.

Every statement runs in its own short transaction, no session state: it works behind a
transaction-mode pooler, on the primary engine. Logs carry delivery ids and error classes.
"""

import asyncio
import hashlib
import hmac
import logging
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from graph.core.ids import to_global_id
from graph.core.periodic import Periodic
from graph.core.settings import Settings
from graph.integrations.webhook_events import WebhookEvent, event_of, payload
from graph.integrations.webhook_urls import UnsafeUrl, resolve
from graph.sql.webhooks import (
    ADVANCE_POSITION,
    AS_WORKER,
    CLAIM,
    EVENTS_AFTER,
    INSERT_DELIVERY,
    LOCK_POSITION,
    RECORD_ATTEMPT,
    RECORD_OUTCOME,
    REMINDED_APPOINTMENTS,
    SUBSCRIBED,
)

log = logging.getLogger("fisioflow.webhooks")

# Events turned into deliveries per dispatch transaction.
EVENT_BATCH = 500
# Deliveries claimed and sent together.
SEND_BATCH = 20
FIRST_RETRY = timedelta(seconds=10)
LAST_RETRY = timedelta(hours=1)
SIGNATURE_HEADER = "X-FisioFlow-Signature"
USER_AGENT = "FisioFlow-Webhooks/1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,sha256=<hex HMAC-SHA256 of "<t>.<body>">` (docs/api.md)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},sha256={mac.hexdigest()}"


def retry_delay(attempt: int) -> timedelta:
    """After the `attempt`-th failure: 10 s, 20 s, 40 s... at most an hour, each drawn
    between half and all of that (jitter: receivers coming back are not hit all at once)."""
    ceiling = min(FIRST_RETRY * (1 << min(attempt - 1, 12)), LAST_RETRY)
    return ceiling * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Outcome:
    response_status: int | None
    duration_ms: int
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300


async def _as_worker(connection: AsyncConnection) -> None:
    await connection.execute(AS_WORKER)


async def dispatch(engine: AsyncEngine) -> int:
    """Turn the events after the dispatch position into deliveries; how many were made.
    Loops until the log is read to its end or another process holds the position."""
    made = 0
    while True:
        async with engine.begin() as connection:
            await _as_worker(connection)
            position = (await connection.execute(LOCK_POSITION)).scalar()
            if position is None:
                return made
            events = (
                (await connection.execute(EVENTS_AFTER, {"after": position, "batch": EVENT_BATCH}))
                .mappings()
                .all()
            )
            if not events:
                return made
            rows = await _deliveries(connection, events)
            if rows:
                await connection.execute(INSERT_DELIVERY, rows)
            await connection.execute(ADVANCE_POSITION, {"seq": events[-1]["seq"]})
        made += len(rows)
        if len(events) < EVENT_BATCH:
            return made


async def _deliveries(connection: AsyncConnection, events: Sequence[Any]) -> list[dict[str, Any]]:
    """The deliveries `events` make: one per subscribed webhook of each event's clinic."""
    typed = [
        (event, kind) for event in events if (kind := event_of(event["table_name"], event["op"]))
    ]
    if not typed:
        return []
    clinics = sorted({str(event["clinic_id"]) for event, _ in typed})
    webhooks = (await connection.execute(SUBSCRIBED, {"clinics": clinics})).mappings().all()
    if not webhooks:
        return []
    reminders = [str(e["row_id"]) for e, kind in typed if kind is WebhookEvent.APPOINTMENT_REMINDER]
    appointments: dict[uuid.UUID, uuid.UUID] = {}
    if reminders:
        found = await connection.execute(REMINDED_APPOINTMENTS, {"ids": reminders})
        appointments = {row.id: row.appointment_id for row in found}
    rows = []
    for event, kind in typed:
        refs = dict(event["refs"])
        if event["row_id"] in appointments:
            refs["appointment_id"] = appointments[event["row_id"]]
        body: bytes | None = None
        for webhook in webhooks:
            if (
                webhook["clinic_id"] != event["clinic_id"]
                or kind.value not in webhook["events"]
                or webhook["created_at"] > event["recorded_at"]
            ):
                continue
            if body is None:
                body = orjson.dumps(
                    payload(
                        kind,
                        event["seq"],
                        event["clinic_id"],
                        event["table_name"],
                        event["op"],
                        event["row_id"],
                        refs,
                        event["recorded_at"],
                    )
                )
            rows.append(
                {
                    "clinic": event["clinic_id"],
                    "webhook": webhook["id"],
                    "seq": event["seq"],
                    "event": kind.value,
                    "payload": body.decode(),
                    "at": event["recorded_at"],
                }
            )
    return rows


class Sender:
    """Sends one delivery: signed, to the checked address, within the timeout."""

    def __init__(self, timeout_seconds: float, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,  # a redirect could lead anywhere: it is a failure
            trust_env=False,  # no proxy from the environment between us and the check
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def send(self, row: Any, at: datetime) -> Outcome:
        started = time.monotonic()

        def outcome(status: int | None, error: str | None) -> Outcome:
            return Outcome(status, round((time.monotonic() - started) * 1000), error)

        body = row["body"].encode()
        try:
            target = await resolve(row["url"], self.allow_private)
        except UnsafeUrl as refused:
            return outcome(None, f"refused: {refused}"[:200])
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Host": target.host_header(),
            SIGNATURE_HEADER: signature(row["secret"], int(at.timestamp()), body),
            "X-FisioFlow-Delivery": to_global_id("WebhookDelivery", row["id"]),
            "X-FisioFlow-Event": row["event_type"],
        }
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        try:
            response = await self.client.post(
                target.pinned_url(), content=body, headers=headers, extensions=extensions
            )
        except httpx.TimeoutException:
            return outcome(None, "timeout")
        except httpx.HTTPError as error:
            return outcome(None, type(error).__name__)
        failed = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return outcome(response.status_code, failed)


async def send_due(
    engine: AsyncEngine, sender: Sender, attempts: int, at: datetime
) -> dict[str, int]:
    """Send the deliveries due at `at`, a batch at a time; how many ended in each state."""
    lease_seconds = sender.client.timeout.read or 30.0
    outcomes: dict[str, int] = {}
    while True:
        async with engine.begin() as connection:
            await _as_worker(connection)
            claimed = (
                (
                    await connection.execute(
                        CLAIM,
                        {"at": at, "batch": SEND_BATCH, "lease_seconds": 2 * lease_seconds + 30},
                    )
                )
                .mappings()
                .all()
            )
        results = await asyncio.gather(*(sender.send(row, at) for row in claimed))
        async with engine.begin() as connection:
            await _as_worker(connection)
            for row, result in zip(claimed, results, strict=True):
                status, next_attempt = "delivered", None
                if not result.delivered:
                    if row["attempt"] < attempts:
                        status, next_attempt = "pending", at + retry_delay(row["attempt"])
                    else:
                        status = "dead"
                    log.warning(
                        "webhook delivery failed",
                        extra={"fields": {"delivery": str(row["id"]), "error": result.error}},
                    )
                await connection.execute(
                    RECORD_ATTEMPT,
                    {
                        "id": row["id"],
                        "attempt": row["attempt"],
                        "clinic": row["clinic_id"],
                        "at": at,
                        "response_status": result.response_status,
                        "duration_ms": result.duration_ms,
                        "error": result.error,
                    },
                )
                await connection.execute(
                    RECORD_OUTCOME,
                    {
                        "id": row["id"],
                        "attempt": row["attempt"],
                        "status": status,
                        "next_attempt_at": next_attempt,
                        "at": at,
                    },
                )
                outcomes[status] = outcomes.get(status, 0) + 1
        if len(claimed) < SEND_BATCH:
            return outcomes


class WebhookWorker(Periodic):
    """Runs the rounds in the background of a server process (graph/http/app.py); a delivery
    cut off mid-send by a stop goes again when its lease ends."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        super().__init__(settings.webhook_interval_seconds, first_at_start=True, log=log)
        self.engine = engine
        self.attempts = settings.webhook_attempts
        self.sender = Sender(settings.webhook_timeout_seconds, settings.webhook_private_urls())

    async def run_once(self, at: datetime | None = None) -> dict[str, int]:
        await dispatch(self.engine)
        return await send_due(self.engine, self.sender, self.attempts, at or datetime.now(UTC))

    async def round(self) -> None:
        await self.run_once()

    async def stop(self) -> None:
        await super().stop()
        await self.sender.close()
