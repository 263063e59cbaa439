"""The seed's calendar: business-day hourly slots over one year around an anchor date."""

from datetime import date, datetime, timedelta, timezone

from graph.core.calendar import CLINIC_TIME_ZONE

# The clinic calendar's offset as a fixed zone (America/Sao_Paulo has had no daylight saving
# since 2019): the seeded instants are the same, and a fixed offset is cheaper per timestamp.
TZ = timezone(CLINIC_TIME_ZONE.utcoffset(datetime(2026, 1, 1)) or timedelta())
PAST_DAYS = 273  # the year of appointments: 39 weeks back, 13 weeks ahead
FUTURE_DAYS = 91
FIRST_HOUR = 7
SLOTS_PER_DAY = 12  # hourly slots 07:00-18:00; no appointment is longer than an hour


class Calendar:
    """Hourly slots on business days from PAST_DAYS before to FUTURE_DAYS after the anchor."""

    def __init__(self, anchor: date) -> None:
        self.anchor = anchor
        self.now = datetime(anchor.year, anchor.month, anchor.day, tzinfo=TZ)
        days = (anchor + timedelta(days=n) for n in range(-PAST_DAYS, FUTURE_DAYS))
        self.days = [d for d in days if d.weekday() < 5]
        self.first_future_day = next(i for i, d in enumerate(self.days) if d >= anchor)
        self.slot_starts = [
            datetime(d.year, d.month, d.day, FIRST_HOUR + h, tzinfo=TZ)
            for d in self.days
            for h in range(SLOTS_PER_DAY)
        ]
