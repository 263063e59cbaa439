"""Payments at row level: their order, the lists other areas' types show, and the clinic's
calendar that `overdue` follows."""

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping

from graph.api.context import Info
from graph.sql.loaders import ChildList
from graph.sql.pagination import SortKey
from models.payments import payments

CLINIC_TIME_ZONE = ZoneInfo("America/Sao_Paulo")


def clinic_today() -> date:
    """`overdue` is judged by the date on the clinic's wall calendar."""
    return datetime.now(CLINIC_TIME_ZONE).date()


PAYMENT_SORT = SortKey((payments.c.created_at, payments.c.id))
PAYMENTS_OF_PATIENT = ChildList(payments, "patient_id", PAYMENT_SORT)
PAYMENTS_OF_APPOINTMENT = ChildList(payments, "appointment_id", PAYMENT_SORT)


async def payment_row(info: Info, payment_id: uuid.UUID) -> RowMapping | None:
    return await info.context.loaders.by_id(payments).load(payment_id)
