"""FISIOFLOW_SMTP_URL's forms, how a failed send is recorded, and the e-mail's text."""

import uuid
from datetime import UTC, datetime, timedelta

import aiosmtplib
import pytest
from pydantic import ValidationError

from graph.core.settings import Settings
from graph.core.smtp import SmtpAddress
from graph.integrations.mail import classify
from graph.integrations.reminder_email import ReminderEmail, cancel_advice, compose, long_date
from graph.integrations.reminders import retry_delay


def test_smtp_urls() -> None:
    server = SmtpAddress.from_url("smtp://lembretes%40clinica.com:s%3Acr%40t@mail.example")
    assert (server.host, server.port, server.security) == ("mail.example", 587, "starttls")
    assert (server.username, server.password) == ("lembretes@clinica.com", "s:cr@t")
    tls = SmtpAddress.from_url("smtps://u:p@mail.example")
    assert (tls.port, tls.security) == (465, "tls")
    local = SmtpAddress.from_url("smtp://127.0.0.1:2525?starttls=off")
    assert (local.port, local.security, local.username) == (2525, "off", None)
    for bad in ("http://mail.example", "smtp://", "smtp://h?starttls=maybe", "mail.example:25"):
        with pytest.raises(ValueError):
            SmtpAddress.from_url(bad)
        with pytest.raises(ValidationError, match="smtp"):
            Settings(smtp_url=bad, smtp_from="a@b.example")


def test_an_smtp_url_needs_a_sender() -> None:
    with pytest.raises(ValidationError, match="FISIOFLOW_SMTP_FROM"):
        Settings(smtp_url="smtp://127.0.0.1:25?starttls=off")
    assert Settings(smtp_url="smtp://h", smtp_from="a@b.example").smtp_from == "a@b.example"


def test_failures_are_recorded_by_class_and_code_only() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "no such user ana@x.example", "ana@x.example")]
    )
    failure = classify(refused)
    assert (failure.permanent, failure.summary) == (True, "SMTPRecipientsRefused 550")
    assert not classify(aiosmtplib.SMTPDataError(451, "later")).permanent
    assert not classify(aiosmtplib.SMTPConnectError("refused")).permanent
    assert not classify(TimeoutError()).permanent
    # A login or sender refused is the configuration's fault, fixed by an operator: retried.
    assert not classify(aiosmtplib.SMTPAuthenticationError(535, "bad credentials")).permanent
    assert not classify(aiosmtplib.SMTPSenderRefused(550, "no", "a@b.example")).permanent


def test_retries_back_off_to_an_hour() -> None:
    delays = [retry_delay(n) for n in (1, 2, 3, 7, 8, 200)]
    minutes = [delay // timedelta(minutes=1) for delay in delays]
    assert minutes == [1, 2, 4, 60, 60, 60]


def reminder(**changes: object) -> ReminderEmail:
    starts = datetime(2026, 12, 3, 17, 30, tzinfo=UTC)
    fields: dict[str, object] = {
        "reminder_id": uuid.UUID(int=7),
        "patient_name": "Maria das Dores",
        "patient_email": "maria@example.com",
        "clinic_name": "Clínica Movimento",
        "time_zone": "America/Sao_Paulo",
        "starts_at": starts,
        "ends_at": starts + timedelta(minutes=50),
        "physiotherapist_name": "Dra. Ana Souza",
        "cancel_notice_hours": 24,
    }
    fields.update(changes)
    return ReminderEmail(**fields)  # type: ignore[arg-type]


def test_the_text_is_in_the_clinics_time_zone() -> None:
    message = compose(reminder(), "Clínica Movimento <lembretes@movimento.example>")
    assert message["Subject"] == (
        "Lembrete: sessão de fisioterapia em 03/12 às 14:30 — Clínica Movimento"
    )
    assert str(message["To"]) == "Maria das Dores <maria@example.com>"
    assert message["Message-ID"] == f"<reminder-{uuid.UUID(int=7)}@movimento.example>"
    text = message.get_content()
    assert "Olá, Maria!" in text
    assert "Data: quinta-feira, 3 de dezembro de 2026" in text
    assert "Horário: das 14:30 às 15:20" in text
    assert "Fisioterapeuta: Dra. Ana Souza" in text
    manaus = compose(reminder(time_zone="America/Manaus"), "x@y.example").get_content()
    assert "das 13:30 às 14:20" in manaus


def test_dates_and_cancel_advice_in_portuguese() -> None:
    assert long_date(datetime(2027, 3, 1)) == "segunda-feira, 1 de março de 2027"
    assert "até o horário da sessão" in cancel_advice(0)
    assert "até 1 hora antes" in cancel_advice(1)
    assert "até 48 horas antes" in cancel_advice(48)


def test_hostile_names_and_addresses_never_become_headers() -> None:
    message = compose(
        reminder(patient_name="Eva\r\nBcc: todos@example.com", clinic_name="C\nBcc: x@y.z"),
        "x@y.example",
    )
    assert message["Bcc"] is None
    [to] = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Eva Bcc: todos@example.com", "maria@example.com")
    assert "\n" not in message["Subject"]
    for address in ("maria@example.com\r\nBcc: x@y.z", "não é endereço", ""):
        with pytest.raises(ValueError):
            compose(reminder(patient_email=address), "x@y.example")
