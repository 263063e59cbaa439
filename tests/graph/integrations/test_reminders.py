"""Appointment reminders (graph/integrations/reminders.py, migration 0021), against the real
database and a real SMTP server (aiosmtpd). The worker's "now" is a parameter: every round
here is placed in time, none waits for the clock."""

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from graph.core.ids import to_global_id
from graph.core.smtp import SmtpAddress
from graph.integrations.mail import SmtpServer
from graph.integrations.reminders import (
    LEASE,
    Mailer,
    fire_due_reminders,
    retry_delay,
    send_due_emails,
)
from graph.sql import migrate
from graph.sql.database import create_engine
from graph.sql.reminders import AS_WORKER, RECORD_OUTCOME
from tests.support.database import create_database, drop_database, plain_dsn
from tests.support.factories import ClinicWorld, add_appointment, make_clinic
from tests.support.graphql_client import error_codes, graphql
from tests.support.servers import running_server
from tests.support.smtp import Inbox, free_port, smtp_server

REMINDER_PURPOSE = "Lembretes de consulta por WhatsApp e SMS"
SENDER = "Clínica <lembretes@clinica.example>"
RESCHEDULE = """mutation($input: RescheduleAppointmentInput!) {
  rescheduleAppointment(input: $input) { id startsAt } }"""
CANCEL = """mutation($input: CancelAppointmentInput!) { cancelAppointment(input: $input) { id } }"""
UPDATE_CLINIC = """mutation($input: UpdateClinicInput!) {
  updateClinic(input: $input) { reminderHoursBefore } }"""


def hour_from_now(hours: float) -> datetime:
    """A session start `hours` from now, on the minute."""
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(second=0, microsecond=0)


@pytest.fixture
async def world(superuser: asyncpg.Connection) -> ClinicWorld:
    world = await make_clinic(superuser, "Clínica Lembrete")
    for patient in world.patient_ids:
        await grant_reminders(superuser, world, patient)
    return world


@pytest.fixture
def engine(app: Starlette) -> AsyncEngine:
    found: AsyncEngine = app.state.engine
    return found


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    with smtp_server() as running:
        yield running


def mailer_for(url: str, attempts: int = 5) -> Mailer:
    return Mailer(SmtpServer(SmtpAddress.from_url(url), timeout_seconds=10), SENDER, attempts)


async def grant_reminders(
    conn: asyncpg.Connection, world: ClinicWorld, patient: uuid.UUID, purpose: str = ""
) -> uuid.UUID:
    consent_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO consents (clinic_id, patient_id, purpose, legal_basis, policy_version)"
        " VALUES ($1, $2, $3, 'Consentimento (LGPD art. 7, I)', 'v1') RETURNING id",
        world.clinic_id,
        patient,
        purpose or REMINDER_PURPOSE,
    )
    return consent_id


async def reminders_of(conn: asyncpg.Connection, appointment: uuid.UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM appointment_reminders WHERE appointment_id = $1 ORDER BY fired_at",
        appointment,
    )
    return rows


async def fire(
    conn: asyncpg.Connection,
    engine: AsyncEngine,
    at: datetime,
    world: ClinicWorld,
    email: bool = False,
) -> set[uuid.UUID]:
    """A firing round at `at` through `engine`; the appointments of `world` it reminded (other
    tests' clinics share the database)."""
    fired = await fire_due_reminders(engine, at, email=email)
    return await appointments_of(conn, fired, world)


async def appointments_of(
    conn: asyncpg.Connection, reminders: list[uuid.UUID], world: ClinicWorld
) -> set[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT appointment_id FROM appointment_reminders"
        " WHERE id = ANY($1::uuid[]) AND clinic_id = $2",
        reminders,
        world.clinic_id,
    )
    return {row["appointment_id"] for row in rows}


def plain(engine: AsyncEngine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def book(conn: asyncpg.Connection, world: ClinicWorld, n: int, hours: float) -> uuid.UUID:
    """A session of the world's patient `n` (with their physiotherapist) `hours` from now."""
    physio = world.physio if n < 3 else world.other_physio
    assert physio.physiotherapist_id is not None
    return await add_appointment(
        conn, world, world.patient_ids[n], physio.physiotherapist_id, hour_from_now(hours)
    )


# -- when a reminder fires ---------------------------------------------------------------------


async def test_fires_the_clinics_hours_before_and_once(
    superuser: asyncpg.Connection, engine: AsyncEngine, world: ClinicWorld
) -> None:
    now = datetime.now(UTC)
    tomorrow = await book(superuser, world, 0, 30)
    soon = await book(superuser, world, 1, 3)  # booked closer than 24 h: reminded at once
    past = await book(superuser, world, 2, -2)
    assert await fire(superuser, engine, now, world) == {soon}
    assert (
        await fire(superuser, engine, now + timedelta(hours=5), world) == set()
    )  # 30 h is 25 h away
    assert await fire(superuser, engine, now + timedelta(hours=6, minutes=1), world) == {tomorrow}
    assert await fire(superuser, engine, now + timedelta(hours=7), world) == set()  # never twice
    [row] = await reminders_of(superuser, tomorrow)
    assert row["starts_at"] == hour_from_now(30) and row["email_status"] == "none"
    assert row["fired_at"] == now + timedelta(hours=6, minutes=1)
    assert row["patient_id"] == world.patient_ids[0]
    assert await reminders_of(superuser, past) == []


async def test_the_clinic_sets_its_hours_through_update_clinic(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
) -> None:
    body = await graphql(
        client, UPDATE_CLINIC, {"input": {"reminderHoursBefore": 2}}, token=world.token(world.admin)
    )
    assert body["data"] == {"updateClinic": {"reminderHoursBefore": 2}}
    for who in (world.receptionist, world.physio, world.patient):
        refused = await graphql(
            client, UPDATE_CLINIC, {"input": {"reminderHoursBefore": 100}}, token=world.token(who)
        )
        assert error_codes(refused) == ["FORBIDDEN"]
    three = await book(superuser, world, 0, 3)
    one = await book(superuser, world, 1, 1)
    now = datetime.now(UTC)
    assert await fire(superuser, engine, now, world) == {one}
    assert await fire(superuser, engine, now + timedelta(hours=1, minutes=1), world) == {three}


async def test_only_a_granted_reminders_consent_counts(
    superuser: asyncpg.Connection, engine: AsyncEngine
) -> None:
    world = await make_clinic(superuser, "Clínica Consentimentos")
    patients = world.patient_ids
    await grant_reminders(superuser, world, patients[0], "  lembrete por e-mail")
    await grant_reminders(superuser, world, patients[1], "Tratamento de dados de saúde")
    await grant_reminders(superuser, world, patients[2], "Sem lembretes")
    revoked = await grant_reminders(superuser, world, patients[3])
    await superuser.execute(
        "UPDATE consents SET granted = false, revoked_at = now() WHERE id = $1", revoked
    )
    booked = [await book(superuser, world, n, 2 + n) for n in range(5)]  # patient 4: no consent
    assert await fire(superuser, engine, datetime.now(UTC), world) == {booked[0]}


async def test_two_workers_fire_each_reminder_once(
    superuser: asyncpg.Connection, engine: AsyncEngine, database_url: str, world: ClinicWorld
) -> None:
    booked = [await book(superuser, world, n, 5 + n) for n in range(4)]
    other = create_engine(database_url, pool_size=2)
    try:
        at = datetime.now(UTC)
        first, second = await asyncio.gather(
            fire_due_reminders(engine, at, email=False),
            fire_due_reminders(other, at, email=False),
        )
        ours = await appointments_of(superuser, first, world) | await appointments_of(
            superuser, second, world
        )
        assert ours == set(booked)
        assert not set(first) & set(second)
        for appointment in booked:
            assert len(await reminders_of(superuser, appointment)) == 1
        events = await superuser.fetchval(
            "SELECT count(*) FROM events WHERE table_name = 'appointment_reminders'"
            " AND clinic_id = $1",
            world.clinic_id,
        )
        assert events == len(booked)
    finally:
        await other.dispose()


async def test_a_worker_waits_for_one_firing_the_same_reminder_and_writes_nothing(
    superuser: asyncpg.Connection, engine: AsyncEngine, database_url: str, world: ClinicWorld
) -> None:
    """The race made certain: one worker's insert is held uncommitted while the other fires."""
    appointment = await book(superuser, world, 0, 4)
    at = datetime.now(UTC)
    holder = await asyncpg.connect(plain(engine))
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "SELECT set_config('fisioflow.definer', 'reminders', true),"
            " set_config('app.clinic_id', $1, true)",
            str(world.clinic_id),
        )
        await holder.execute(
            "INSERT INTO appointment_reminders (clinic_id, appointment_id, patient_id,"
            " physiotherapist_id, starts_at, email_status)"
            " SELECT clinic_id, id, patient_id, physiotherapist_id, starts_at, 'none'"
            " FROM appointments WHERE id = $1",
            appointment,
        )
        racer = asyncio.create_task(fire(superuser, engine, at, world))
        await until_waiting_on_a_lock(superuser, "fisioflow")
        await transaction.commit()
        assert await racer == set()
    finally:
        await holder.close()
    assert len(await reminders_of(superuser, appointment)) == 1


async def until_waiting_on_a_lock(conn: asyncpg.Connection, application: str) -> None:
    """Until a backend of `application` waits for a lock (the racing insert). PostgreSQL
    announces a lock wait nowhere but in pg_stat_activity, so it is looked at until then."""
    async with asyncio.timeout(30):
        while not await conn.fetchval(  # noqa: ASYNC110 (no event to await: see above)
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
            " AND wait_event_type = 'Lock'",
            application,
        ):
            await asyncio.sleep(0.02)


async def test_rescheduling_replans_and_keeps_what_fired(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
) -> None:
    appointment = await book(superuser, world, 0, 10)
    now = datetime.now(UTC)
    assert await fire(superuser, engine, now, world) == {appointment}
    receptionist = world.token(world.receptionist)
    later = hour_from_now(40)
    moved = {
        "input": {"id": to_global_id("Appointment", appointment), "startsAt": later.isoformat()}
    }
    body = await graphql(client, RESCHEDULE, moved, token=receptionist)
    assert "errors" not in body, body
    assert await fire(superuser, engine, now, world) == set()  # 40 h away
    assert await fire(superuser, engine, now + timedelta(hours=16, minutes=1), world) == {
        appointment
    }
    rows = await reminders_of(superuser, appointment)
    assert [row["starts_at"] for row in rows] == [hour_from_now(10), later]
    # Back to a start already reminded: that reminder stands, none again.
    moved["input"]["startsAt"] = hour_from_now(10).isoformat()
    assert "errors" not in await graphql(client, RESCHEDULE, moved, token=receptionist)
    assert await fire(superuser, engine, now, world) == set()


async def test_cancelled_no_show_and_revoked_get_none(
    client: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
) -> None:
    cancelled = await book(superuser, world, 0, 30)
    body = await graphql(
        client,
        CANCEL,
        {"input": {"id": to_global_id("Appointment", cancelled), "reason": "Viagem"}},
        token=world.token(world.receptionist),
    )
    assert "errors" not in body, body
    assert world.physio.physiotherapist_id is not None
    no_show = await add_appointment(
        superuser,
        world,
        world.patient_ids[1],
        world.physio.physiotherapist_id,
        hour_from_now(30),
        status="no_show",
    )
    revoked = await book(superuser, world, 2, 30)
    await superuser.execute(
        "UPDATE consents SET granted = false, revoked_at = now() WHERE patient_id = $1",
        world.patient_ids[2],
    )
    confirmed = await book(superuser, world, 3, 30)
    await superuser.execute("UPDATE appointments SET status = 'confirmed' WHERE id = $1", confirmed)
    assert await fire(superuser, engine, datetime.now(UTC) + timedelta(hours=7), world) == {
        confirmed
    }
    for appointment in (cancelled, no_show, revoked):
        assert await reminders_of(superuser, appointment) == []


async def test_the_event_carries_ids_only(
    superuser: asyncpg.Connection, engine: AsyncEngine, world: ClinicWorld
) -> None:
    appointment = await book(superuser, world, 0, 2)
    await fire(superuser, engine, datetime.now(UTC), world)
    [reminder] = await reminders_of(superuser, appointment)
    event = await superuser.fetchrow(
        "SELECT clinic_id, op, refs FROM events"
        " WHERE table_name = 'appointment_reminders' AND row_id = $1",
        reminder["id"],
    )
    assert event is not None
    assert (event["clinic_id"], event["op"]) == (world.clinic_id, "INSERT")
    assert event["refs"] == (
        f'{{"patient_id": "{world.patient_ids[0]}",'
        f' "physiotherapist_id": "{world.physio.physiotherapist_id}"}}'
    )


async def test_the_servers_own_login_fires_under_rls(
    superuser: asyncpg.Connection, database_url: str, world: ClinicWorld
) -> None:
    """Production's login is no superuser: a member of fisioflow_owner, blind but for the
    `reminders` policies, and the event's insert passes the clinic check at commit."""
    login = f"reminders_{uuid.uuid4().hex[:8]}"
    await superuser.execute(f"CREATE ROLE {login} LOGIN IN ROLE fisioflow_owner")
    url = make_url(database_url).set(username=login).render_as_string(hide_password=False)
    engine = create_engine(url, pool_size=2)
    try:
        appointment = await book(superuser, world, 0, 2)
        assert await fire(superuser, engine, datetime.now(UTC), world) == {appointment}
        events = await superuser.fetchval(
            "SELECT count(*) FROM events e JOIN appointment_reminders r ON r.id = e.row_id"
            " WHERE r.appointment_id = $1",
            appointment,
        )
        assert events == 1
        connection = await asyncpg.connect(plain(engine))
        try:  # without the setting, the login sees no reminder and no appointment
            for table in ("appointment_reminders", "appointments", "patients"):
                assert await connection.fetchval(f"SELECT count(*) FROM {table}") == 0
        finally:
            await connection.close()
    finally:
        await engine.dispose()
        await superuser.execute(f"DROP OWNED BY {login}; DROP ROLE {login}")


# -- e-mail ------------------------------------------------------------------------------------


async def reach_by_email(conn: asyncpg.Connection, patient: uuid.UUID) -> None:
    await conn.execute("UPDATE patients SET contact_channel = 'email' WHERE id = $1", patient)


async def test_the_email_arrives_in_portuguese(
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    smtp: tuple[Inbox, str],
) -> None:
    inbox, url = smtp
    await superuser.execute(
        "UPDATE clinics SET time_zone = 'America/Manaus', patient_cancel_notice_hours = 12"
        " WHERE id = $1",
        world.clinic_id,
    )
    patient = world.patient_ids[0]
    await reach_by_email(superuser, patient)
    appointment = await book(superuser, world, 0, 20)
    at = datetime.now(UTC)
    assert await fire(superuser, engine, at, world, email=True) == {appointment}
    [reminder] = await reminders_of(superuser, appointment)
    assert reminder["email_status"] == "pending"
    mailer = mailer_for(url)
    await send_due_emails(engine, mailer, at)
    [reminder] = await reminders_of(superuser, appointment)
    assert (reminder["email_status"], reminder["email_attempts"]) == ("sent", 1)
    assert reminder["email_sent_at"] == at and reminder["email_error"] is None
    ours = [r for r in inbox.received if r.recipients == [await email_of(superuser, patient)]]
    [mail] = ours
    assert mail.sender == "lembretes@clinica.example"
    message = mail.message
    local = hour_from_now(20).astimezone(ZoneInfo("America/Manaus"))
    assert message["Subject"] == (
        f"Lembrete: sessão de fisioterapia em {local:%d/%m} às {local:%H:%M} — Clínica Lembrete"
    )
    assert message["From"] == SENDER
    assert message["Message-ID"] == f"<reminder-{reminder['id']}@clinica.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_charset() == "utf-8"
    text = message.get_content()
    weekday = ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")
    assert "Olá, Paciente!" in text
    assert "sessão de fisioterapia na Clínica Lembrete" in text
    assert f"  Data: {weekday[local.weekday()]}" in text and f"{local.day} de " in text
    assert f"das {local:%H:%M} às {local + timedelta(minutes=50):%H:%M}" in text
    assert "Fisioterapeuta: Ana Souza" in text
    assert "cancele pelo aplicativo FisioFlow até 12 horas antes da sessão" in text
    # Sent once: later rounds have nothing more to send it.
    await send_due_emails(engine, mailer, at + timedelta(hours=2))
    assert len([r for r in inbox.received if r.recipients == mail.recipients]) == 1


async def email_of(conn: asyncpg.Connection, patient: uuid.UUID) -> str:
    address: str = await conn.fetchval("SELECT email FROM patients WHERE id = $1", patient)
    return address


async def test_whatsapp_patients_get_the_event_only(
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    smtp: tuple[Inbox, str],
) -> None:
    inbox, url = smtp
    appointment = await book(superuser, world, 0, 2)  # contact channel: whatsapp (default)
    at = datetime.now(UTC)
    assert await fire(superuser, engine, at, world, email=True) == {appointment}
    [reminder] = await reminders_of(superuser, appointment)
    assert reminder["email_status"] == "none"
    await send_due_emails(engine, mailer_for(url), at)
    address = await email_of(superuser, world.patient_ids[0])
    assert [r for r in inbox.received if address in r.recipients] == []
    assert (
        await superuser.fetchval("SELECT count(*) FROM events WHERE row_id = $1", reminder["id"])
        == 1
    )


async def test_smtp_down_is_retried_then_sent(
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    smtp: tuple[Inbox, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox, url = smtp
    await reach_by_email(superuser, world.patient_ids[0])
    appointment = await book(superuser, world, 0, 5)
    at = datetime.now(UTC)
    await fire(superuser, engine, at, world, email=True)
    down = mailer_for(f"smtp://127.0.0.1:{free_port()}?starttls=off")
    await send_due_emails(engine, down, at)
    [reminder] = await reminders_of(superuser, appointment)
    assert (reminder["email_status"], reminder["email_attempts"]) == ("pending", 1)
    assert reminder["email_next_attempt_at"] == at + retry_delay(1)
    assert reminder["email_error"] == "SMTPConnectError"
    # The failure is logged by reminder id and error class, never with the patient's data.
    name = await superuser.fetchval("SELECT name FROM patients WHERE id = $1", world.patient_ids[0])
    logged = [r for r in caplog.records if r.name == "fisioflow.reminders"]
    assert any(str(reminder["id"]) in str(getattr(r, "fields", "")) for r in logged)
    for record in logged:
        text = f"{record.getMessage()} {getattr(record, 'fields', '')}"
        assert name not in text and await email_of(superuser, world.patient_ids[0]) not in text
    # Not due before the backoff; then the server answers "try later" once, then takes it.
    up = mailer_for(url)
    await send_due_emails(engine, up, at + timedelta(seconds=30))
    assert (await reminders_of(superuser, appointment))[0]["email_attempts"] == 1
    inbox.answers.append("451 4.3.0 Tente mais tarde")
    await send_due_emails(engine, up, at + retry_delay(1))
    [reminder] = await reminders_of(superuser, appointment)
    assert (reminder["email_status"], reminder["email_attempts"]) == ("pending", 2)
    assert reminder["email_error"] == "SMTPDataError 451"
    second_retry = at + retry_delay(1) + retry_delay(2)
    assert reminder["email_next_attempt_at"] == second_retry
    await send_due_emails(engine, up, second_retry)
    [reminder] = await reminders_of(superuser, appointment)
    assert (reminder["email_status"], reminder["email_attempts"]) == ("sent", 3)
    assert reminder["email_error"] is None
    address = await email_of(superuser, world.patient_ids[0])
    assert len([r for r in inbox.received if address in r.recipients]) == 1


async def test_a_round_sends_every_email_due_batch_after_batch(
    superuser: asyncpg.Connection, engine: AsyncEngine, smtp: tuple[Inbox, str]
) -> None:
    inbox, url = smtp
    world = await make_clinic(superuser, "Clínica Cheia", patients_per_physio=6)
    booked = []
    for n, patient in enumerate(world.patient_ids):  # more than a batch (EMAIL_BATCH = 10)
        await grant_reminders(superuser, world, patient)
        await reach_by_email(superuser, patient)
        booked.append(await book(superuser, world, n, 2 + n))
    at = datetime.now(UTC)
    assert await fire(superuser, engine, at, world, email=True) == set(booked)
    await send_due_emails(engine, mailer_for(url), at)
    addresses = {await email_of(superuser, p) for p in world.patient_ids}
    assert {r.recipients[0] for r in inbox.received} >= addresses
    for appointment in booked:
        [row] = await reminders_of(superuser, appointment)
        assert (row["email_status"], row["email_attempts"]) == ("sent", 1)


async def test_a_refusal_or_the_last_attempt_fails_for_good(
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    smtp: tuple[Inbox, str],
) -> None:
    inbox, url = smtp
    for patient in world.patient_ids[:2]:
        await reach_by_email(superuser, patient)
    refused, exhausted = await book(superuser, world, 0, 5), await book(superuser, world, 1, 6)
    at = datetime.now(UTC)
    await fire(superuser, engine, at, world, email=True)
    inbox.answers.append("550 5.1.1 Caixa inexistente")
    once = mailer_for(url, attempts=1)
    await send_due_emails(engine, once, at)
    rows = {a: (await reminders_of(superuser, a))[0] for a in (refused, exhausted)}
    states = sorted((r["email_status"], r["email_error"] or "") for r in rows.values())
    assert states == [("failed", "SMTPDataError 550"), ("sent", "")]
    # With one attempt allowed, a transient failure is the last one too.
    third = await book(superuser, world, 2, 7)
    await reach_by_email(superuser, world.patient_ids[2])
    await fire(superuser, engine, at, world, email=True)
    inbox.answers.append("421 4.7.0 Ocupado")
    await send_due_emails(engine, once, at)
    [row] = await reminders_of(superuser, third)
    assert (row["email_status"], row["email_error"]) == ("failed", "SMTPDataError 421")


async def test_an_email_still_due_is_skipped_once_the_session_is_off(
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    smtp: tuple[Inbox, str],
) -> None:
    inbox, url = smtp
    for patient in world.patient_ids[:3]:
        await reach_by_email(superuser, patient)
    cancelled, moved, revoked = [await book(superuser, world, n, 4 + 2 * n) for n in range(3)]
    at = datetime.now(UTC)
    await fire(superuser, engine, at, world, email=True)
    await superuser.execute("UPDATE appointments SET status = 'cancelled' WHERE id = $1", cancelled)
    await superuser.execute(
        "UPDATE appointments SET starts_at = starts_at + interval '1 hour',"
        " ends_at = ends_at + interval '1 hour' WHERE id = $1",
        moved,
    )
    await superuser.execute(
        "UPDATE consents SET granted = false, revoked_at = now() WHERE patient_id = $1",
        world.patient_ids[2],
    )
    await send_due_emails(engine, mailer_for(url), at)
    for appointment in (cancelled, moved, revoked):
        [row] = await reminders_of(superuser, appointment)
        assert row["email_status"] == "skipped"
    addresses = {await email_of(superuser, p) for p in world.patient_ids[:3]}
    assert not [r for r in inbox.received if addresses & set(r.recipients)]


async def test_a_lease_keeps_two_senders_apart_and_ends(
    superuser: asyncpg.Connection,
    engine: AsyncEngine,
    world: ClinicWorld,
    smtp: tuple[Inbox, str],
) -> None:
    """A claimed e-mail is its sender's until the lease ends; a sender whose lease ran out
    and whose e-mail was claimed again records nothing."""
    inbox, url = smtp
    await reach_by_email(superuser, world.patient_ids[0])
    appointment = await book(superuser, world, 0, 5)
    at = datetime.now(UTC)
    await fire(superuser, engine, at, world, email=True)
    await superuser.execute(
        "UPDATE appointment_reminders SET email_attempts = 1, email_next_attempt_at = $2"
        " WHERE appointment_id = $1",
        appointment,
        at + LEASE,
    )  # as a sender that claimed it at `at` and has not answered yet
    mailer = mailer_for(url)
    await send_due_emails(engine, mailer, at + LEASE - timedelta(seconds=1))
    [row] = await reminders_of(superuser, appointment)
    assert (row["email_status"], row["email_attempts"]) == ("pending", 1)
    await send_due_emails(engine, mailer, at + LEASE)
    [row] = await reminders_of(superuser, appointment)
    assert (row["email_status"], row["email_attempts"]) == ("sent", 2)
    address = await email_of(superuser, world.patient_ids[0])
    assert len([r for r in inbox.received if address in r.recipients]) == 1
    # The first sender answers late: its attempt is no longer the row's, nothing changes.
    async with engine.begin() as connection:
        await connection.execute(AS_WORKER, {"clinic": None})
        late = await connection.execute(
            RECORD_OUTCOME,
            {"id": row["id"], "attempt": 1, "status": "failed", "error": "SMTPConnectError",
             "next_attempt_at": None, "at": at + LEASE},
        )  # fmt: skip
        assert late.rowcount == 0
    [row] = await reminders_of(superuser, appointment)
    assert (row["email_status"], row["email_error"]) == ("sent", None)


async def test_a_running_server_reminds_at_start_and_emails(server_url: str) -> None:
    """`fisioflow serve` runs the worker from its lifespan: the first round, at start, fires
    the reminder and sends its e-mail (a private database: the server sees every clinic)."""
    url = await create_database(server_url)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        conn = await asyncpg.connect(plain_dsn(url))
        try:
            world = await make_clinic(conn, "Clínica Servidor")
            await grant_reminders(conn, world, world.patient_ids[0])
            await reach_by_email(conn, world.patient_ids[0])
            appointment = await book(conn, world, 0, 3)
            address = await email_of(conn, world.patient_ids[0])
            with (
                smtp_server() as (inbox, smtp_url),
                running_server(
                    url,
                    FISIOFLOW_SMTP_URL=smtp_url,
                    FISIOFLOW_SMTP_FROM=SENDER,
                    FISIOFLOW_REMINDER_INTERVAL_SECONDS="3600",
                ),
            ):
                assert await asyncio.to_thread(inbox.arrived.wait, 60)
            [mail] = inbox.received
            assert mail.recipients == [address]
            # Fired (committed before its e-mail was claimed); the outcome the server records
            # after the 250 is the other tests' subject.
            [row] = await reminders_of(conn, appointment)
            assert row["email_attempts"] == 1
        finally:
            await conn.close()
    finally:
        await drop_database(server_url, url)
