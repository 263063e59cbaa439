"""The reminder worker: one per server process, every `FISIOFLOW_REMINDER_INTERVAL_SECONDS`.

Each round, with `at` = now (a parameter, so tests place "now" where they need it):

1. **Fire** (`fire_due_reminders`): for each clinic with reminders due, one transaction that
   inserts them (graph/sql/reminders.FIRE). A reminder is a row of `appointment_reminders`,
   unique per appointment and start time: two processes firing at once write it once, and
   its deferred trigger makes it one event of the log (APPOINTMENT_REMINDER for webhooks). A
   rescheduled appointment has a new start, so a reminder of its own; one fired for the old
   start stays fired. Per clinic, because the event's insert is checked against
   `app.clinic_id` at commit.
2. **E-mail** (`send_due_emails`, only with `FISIOFLOW_SMTP_URL`): claim pending e-mails with
   a lease (`SKIP LOCKED`) and commit, send them, record each outcome: sent; pending again
   after a backoff (1, 2, 4... minutes, at most an hour) on a transient failure until
   `FISIOFLOW_REMINDER_EMAIL_ATTEMPTS`; failed on a permanent one or the last attempt;
   skipped when the appointment was cancelled or moved, or the consent revoked, meanwhile.
   A process that dies mid-send leaves the e-mail to be claimed again when its lease ends
   (at least once; the Message-ID lets the mailbox tell the copy).

Logs carry reminder ids and error classes, never names or addresses.
"""

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from graph.core.periodic import Periodic
from graph.core.settings import Settings
from graph.core.smtp import SmtpAddress
from graph.integrations.mail import SendFailure, SmtpServer, classify
from graph.integrations.reminder_email import ReminderEmail, compose
from graph.sql.reminders import AS_WORKER, CLAIM_EMAILS, DUE_CLINICS, FIRE, RECORD_OUTCOME

log = logging.getLogger("fisioflow.reminders")

# How long a claimed e-mail is its sender's: well past the SMTP timeout (the default 30 s).
LEASE = timedelta(minutes=5)
# E-mails claimed and sent together (one SMTP connection each).
EMAIL_BATCH = 10
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=1)


@dataclass(frozen=True)
class Mailer:
    """Where e-mails go (FISIOFLOW_SMTP_URL) and whom they are from (FISIOFLOW_SMTP_FROM)."""

    server: SmtpServer
    sender: str
    attempts: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "Mailer | None":
        if not settings.smtp_url or not settings.smtp_from:
            return None
        server = SmtpServer(SmtpAddress.from_url(settings.smtp_url), settings.smtp_timeout_seconds)
        return cls(server, settings.smtp_from, settings.reminder_email_attempts)


async def _as_worker(connection: AsyncConnection, clinic: uuid.UUID | None = None) -> None:
    await connection.execute(AS_WORKER, {"clinic": None if clinic is None else str(clinic)})


async def fire_due_reminders(engine: AsyncEngine, at: datetime, email: bool) -> list[uuid.UUID]:
    """Fire every reminder due at `at`; the ids of those this call fired. `email`: whether
    e-mail is configured (the e-mails of the reminders of patients reached by e-mail are
    then pending)."""
    async with engine.begin() as connection:
        await _as_worker(connection)
        clinics = (await connection.execute(DUE_CLINICS, {"at": at})).scalars().all()
    fired: list[uuid.UUID] = []
    for clinic in clinics:
        async with engine.begin() as connection:
            await _as_worker(connection, clinic)
            result = await connection.execute(FIRE, {"at": at, "clinic": clinic, "email": email})
            fired.extend(result.scalars().all())
    if fired:
        log.info("reminders fired", extra={"fields": {"reminders": [str(i) for i in fired]}})
    return fired


def retry_delay(attempt: int) -> timedelta:
    """After the `attempt`-th failed attempt: 1, 2, 4... minutes, at most an hour."""
    return min(FIRST_RETRY * (1 << min(attempt - 1, 6)), LAST_RETRY)


async def send_due_emails(engine: AsyncEngine, mailer: Mailer, at: datetime) -> dict[str, int]:
    """Send the e-mails due at `at`, a batch at a time (each batch's e-mails at once, so a
    batch takes about one SMTP timeout at worst, well inside the lease); how many ended in
    each state."""
    outcomes: dict[str, int] = {}
    while True:
        async with engine.begin() as connection:
            await _as_worker(connection)
            result = await connection.execute(
                CLAIM_EMAILS,
                {"at": at, "batch": EMAIL_BATCH, "lease_seconds": LEASE.total_seconds()},
            )
            claimed = result.mappings().all()
        attempts = await asyncio.gather(*(_attempt(mailer, row) for row in claimed))
        async with engine.begin() as connection:
            await _as_worker(connection)
            for row, (status, error) in zip(claimed, attempts, strict=True):
                next_attempt = None
                if status == "retry":
                    if row["attempt"] < mailer.attempts:
                        status, next_attempt = "pending", at + retry_delay(row["attempt"])
                    else:
                        status = "failed"
                await connection.execute(
                    RECORD_OUTCOME,
                    {
                        "id": row["id"],
                        "attempt": row["attempt"],
                        "status": status,
                        "error": error,
                        "next_attempt_at": next_attempt,
                        "at": at,
                    },
                )
                outcomes[status] = outcomes.get(status, 0) + 1
        if len(claimed) < EMAIL_BATCH:
            return outcomes


async def _attempt(mailer: Mailer, row: Any) -> tuple[str, str | None]:
    """One send: ('sent' | 'skipped' | 'failed' | 'retry', what went wrong)."""
    if not row["still_on"]:
        return "skipped", None
    try:
        message = compose(
            ReminderEmail(
                reminder_id=row["id"],
                patient_name=row["patient_name"],
                patient_email=row["patient_email"].strip(),
                clinic_name=row["clinic_name"],
                time_zone=row["time_zone"],
                starts_at=row["starts_at"],
                ends_at=row["ends_at"],
                physiotherapist_name=row["physiotherapist_name"],
                cancel_notice_hours=row["patient_cancel_notice_hours"],
            ),
            mailer.sender,
        )
    except ValueError:
        log.warning("reminder e-mail not written", extra={"fields": {"reminder": str(row["id"])}})
        return "failed", "invalid address"
    try:
        await mailer.server.send(message)
    except Exception as error:  # refused, unreachable, timed out: each is recorded
        failure: SendFailure = classify(error)
        log.warning(
            "reminder e-mail not sent",
            extra={"fields": {"reminder": str(row["id"]), "error": failure.summary}},
        )
        return ("failed" if failure.permanent else "retry"), failure.summary
    return "sent", None


class ReminderWorker(Periodic):
    """Runs the rounds in the background of a server process (graph/http/app.py); an e-mail cut
    off mid-send by a stop goes again when its lease ends."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        super().__init__(settings.reminder_interval_seconds, first_at_start=True, log=log)
        self.engine = engine
        self.mailer = Mailer.from_settings(settings)

    async def run_once(self, at: datetime | None = None) -> Sequence[uuid.UUID]:
        at = at or datetime.now(UTC)
        fired = await fire_due_reminders(self.engine, at, email=self.mailer is not None)
        if self.mailer is not None:
            await send_due_emails(self.engine, self.mailer, at)
        return fired

    async def round(self) -> None:
        await self.run_once()
