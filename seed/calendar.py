"""The seed's calendar: business-day hourly slots over one year around an anchor date, inside
the physiotherapists' working hours, never on a holiday."""

from datetime import date, datetime, time, timedelta, timezone

from graph.core.calendar import CLINIC_TIME_ZONE

# The clinic calendar's offset as a fixed zone (America/Sao_Paulo has had no daylight saving
# since 2019): the seeded instants are the same, and a fixed offset is cheaper per timestamp.
TZ = timezone(CLINIC_TIME_ZONE.utcoffset(datetime(2026, 1, 1)) or timedelta())
PAST_DAYS = 273  # the year of appointments: 39 weeks back, 13 weeks ahead
FUTURE_DAYS = 91
# Every physiotherapist's week (Monday to Friday, a lunch break): the slots' hours fit in it.
WORKING_HOURS = ((time(7), time(12)), (time(13), time(19)))
WORKDAYS = range(1, 6)  # ISO weekdays
# Hourly slots 07:00-11:00 and 13:00-18:00; no appointment is longer than an hour.
SLOT_HOURS = tuple(hour for start, end in WORKING_HOURS for hour in range(start.hour, end.hour))
SLOTS_PER_DAY = len(SLOT_HOURS)
# National holidays on fixed dates (month, day): the clinics close, and nothing is booked.
HOLIDAYS = {
    (1, 1): "Confraternização Universal",
    (4, 21): "Tiradentes",
    (5, 1): "Dia do Trabalho",
    (9, 7): "Independência do Brasil",
    (10, 12): "Nossa Senhora Aparecida",
    (11, 2): "Finados",
    (11, 15): "Proclamação da República",
    (11, 20): "Dia da Consciência Negra",
    (12, 25): "Natal",
}


class Calendar:
    """Hourly slots on business days from PAST_DAYS before to FUTURE_DAYS after the anchor."""

    def __init__(self, anchor: date) -> None:
        self.anchor = anchor
        self.now = datetime(anchor.year, anchor.month, anchor.day, tzinfo=TZ)
        days = [anchor + timedelta(days=n) for n in range(-PAST_DAYS, FUTURE_DAYS)]
        self.holidays = [
            (d, HOLIDAYS[d.month, d.day]) for d in days if (d.month, d.day) in HOLIDAYS
        ]
        self.days = [
            d for d in days if d.isoweekday() in WORKDAYS and (d.month, d.day) not in HOLIDAYS
        ]
        self.first_future_day = next(i for i, d in enumerate(self.days) if d >= anchor)
        self.slot_starts = [
            datetime(d.year, d.month, d.day, hour, tzinfo=TZ)
            for d in self.days
            for hour in SLOT_HOURS
        ]
