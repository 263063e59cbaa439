"""The reminder e-mail, in Portuguese: clinic, date and time in the clinic's time zone,
physiotherapist, and how to cancel.

Plain text (UTF-8), `Auto-Submitted: auto-generated` (RFC 3834: auto-responders do not answer
it) and a Message-ID made of the reminder's id, so a copy sent again after a crash mid-send
is recognisably the same message.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

WEEKDAYS = (
    "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado",
    "domingo",
)  # fmt: skip
MONTHS = (
    "janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
    "outubro", "novembro", "dezembro",
)  # fmt: skip


@dataclass(frozen=True)
class ReminderEmail:
    """What the e-mail of one reminder says, and to whom."""

    reminder_id: uuid.UUID
    patient_name: str
    patient_email: str
    clinic_name: str
    time_zone: str
    starts_at: datetime
    ends_at: datetime
    physiotherapist_name: str
    cancel_notice_hours: int


def long_date(moment: datetime) -> str:
    """`quinta-feira, 3 de dezembro de 2026`."""
    return (
        f"{WEEKDAYS[moment.weekday()]}, {moment.day} de {MONTHS[moment.month - 1]} de {moment.year}"
    )


def cancel_advice(notice_hours: int) -> str:
    if notice_hours == 0:
        when = "até o horário da sessão"
    elif notice_hours == 1:
        when = "até 1 hora antes da sessão"
    else:
        when = f"até {notice_hours} horas antes da sessão"
    return (
        f"Se não puder comparecer, cancele pelo aplicativo FisioFlow {when},"
        " ou fale com a recepção da clínica."
    )


def one_line(name: str) -> str:
    """A name as a header may carry it: line breaks and runs of spaces become one space."""
    return " ".join(name.split())


def compose(mail: ReminderEmail, sender: str) -> EmailMessage:
    """The message; raises ValueError for an address that cannot be written (not an address,
    a line break in it)."""
    zone = ZoneInfo(mail.time_zone)
    start, end = mail.starts_at.astimezone(zone), mail.ends_at.astimezone(zone)
    patient, clinic = one_line(mail.patient_name), one_line(mail.clinic_name)
    if not mail.patient_email.strip():
        raise ValueError("no address")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = Address(display_name=patient, addr_spec=mail.patient_email)
    message["Subject"] = (
        f"Lembrete: sessão de fisioterapia em {start:%d/%m} às {start:%H:%M} — {clinic}"
    )
    message["Date"] = format_datetime(datetime.now(zone))
    domain = message["From"].addresses[0].domain or "fisioflow.invalid"
    message["Message-ID"] = f"<reminder-{mail.reminder_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "pt-BR"
    message.set_content(
        f"Olá, {patient.split(' ')[0]}!\n"
        "\n"
        f"Lembramos que você tem uma sessão de fisioterapia na {clinic}:\n"
        "\n"
        f"  Data: {long_date(start)}\n"
        f"  Horário: das {start:%H:%M} às {end:%H:%M} (horário local da clínica)\n"
        f"  Fisioterapeuta: {mail.physiotherapist_name}\n"
        "\n"
        f"{cancel_advice(mail.cancel_notice_hours)}\n"
        "\n"
        "Você recebe este lembrete porque autorizou lembretes de consulta. Para não recebê-los"
        " mais, revogue esse consentimento no aplicativo ou peça à clínica.\n"
        "\n"
        f"{clinic}\n"
    )
    return message
