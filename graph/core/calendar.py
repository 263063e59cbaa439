"""The clinic calendar: the one time zone the clinics' dates are judged in, and "today".

A date the API shows or compares (a payment's due date, a prescription's period, a date in a
Portuguese finding, an aggregate's month) is a date on Brazil's official wall calendar
(America/Sao_Paulo, no daylight saving since 2019). SQL that needs the same day uses
`TODAY_SQL`, the same calendar computed by PostgreSQL. The agenda alone reads each clinic's own
zone (`clinics.time_zone`, migration 0013): working hours, holidays, free slots and recurring
series are wall times there, expanded by PostgreSQL.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

TIME_ZONE_NAME = "America/Sao_Paulo"
CLINIC_TIME_ZONE = ZoneInfo(TIME_ZONE_NAME)

# "Today" in SQL, on the same calendar.
TODAY_SQL = f"(now() at time zone '{TIME_ZONE_NAME}')::date"


def clinic_today() -> date:
    """Today's date on the clinic's wall calendar."""
    return datetime.now(CLINIC_TIME_ZONE).date()


def clinic_date(moment: datetime) -> date:
    """The clinic-calendar date of an instant."""
    return moment.astimezone(CLINIC_TIME_ZONE).date()
