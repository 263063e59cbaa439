"""Portuguese text helpers for the findings, for the clinic's data-protection officer."""

import math
from datetime import datetime

from graph.core.calendar import clinic_date


def counted(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def local_date(value: datetime) -> str:
    return clinic_date(value).strftime("%d/%m/%Y")


def share(part: int, whole: int) -> int:
    """Whole percent, rounded down: 99.6% is not 100%."""
    return 100 if whole == 0 else math.floor(100 * part / whole)
