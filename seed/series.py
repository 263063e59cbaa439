"""Recurring series: the first patients' treatment goes on as "N sessions, two weekdays at the
same hour", booked as a series in the physiotherapist's agenda."""

import uuid
from datetime import datetime, timedelta

from seed.calendar import SLOT_HOURS, SLOTS_PER_DAY
from seed.stream import ClinicStream, Physio
from seed.tables import Batch, Row

# (Python weekdays, Monday = 0), hour of the day, count: one pattern per seeded series.
PATTERNS = (
    ((0, 2), 8, 10),  # 10 sessions, Mondays and Wednesdays at 08:00
    ((1, 3), 11, 8),  # 8 sessions, Tuesdays and Thursdays at 11:00
    ((0, 4), 16, 12),  # 12 sessions, Mondays and Fridays at 16:00
)
EARLY_DISCHARGE = "Alta antecipada: objetivos do tratamento alcançados."
SERIES_MINUTES = 50


class SeriesRows(ClinicStream):
    """A series and its appointments; an occupied slot is a skipped conflict, as
    `skipConflicts` would leave it. Every other series ends early: its last sessions
    cancelled at once with the series."""

    def add_series(self, out: Batch, n: int, patient_id: uuid.UUID, physio_index: int) -> None:
        cal, physio = self.cal, self.physios[physio_index]
        occupied = self.occupied[physio_index]
        weekdays, hour, count = PATTERNS[n % len(PATTERNS)]
        day = cal.first_future_day + 1 + n
        occurrences: list[int] = []  # slots
        while len(occurrences) < count and day < len(cal.days):
            if cal.days[day].weekday() in weekdays:
                occurrences.append(day * SLOTS_PER_DAY + SLOT_HOURS.index(hour))
            day += 1
        if not occurrences:
            return
        series_id = self.new_id()
        created = cal.now - timedelta(days=self.between(1, 6), hours=self.between(1, 9))
        ends_early = n % 2 == 1
        cancelled = created + (cal.now - created) / 2 if ends_early else None
        skipped = [cal.slot_starts[s] for s in occurrences if s in occupied]
        booked = [s for s in occurrences if s not in occupied]
        for k, slot in enumerate(booked):
            occupied.add(slot)
            starts = cal.slot_starts[slot]
            cancel = cancelled is not None and k >= len(booked) // 2
            self._series_appointment(
                out, patient_id, physio, starts, created, series_id, cancelled if cancel else None
            )
        out["appointment_series"].append(
            (series_id, self.cid, patient_id, physio.id, cal.slot_starts[occurrences[0]],
             SERIES_MINUTES, "session", [d + 1 for d in weekdays], count, skipped,
             self.admin_id, created, cancelled)
        )  # fmt: skip

    def _series_appointment(
        self,
        out: Batch,
        patient_id: uuid.UUID,
        physio: Physio,
        starts: datetime,
        created: datetime,
        series_id: uuid.UUID,
        cancelled: datetime | None,
    ) -> None:
        if cancelled is not None:
            status = "cancelled"
        elif starts < self.cal.now + timedelta(days=2):
            status = "confirmed"
        else:
            status = "scheduled"
        appointment_id = self.new_id()
        out["appointments"].append(
            (appointment_id, self.cid, patient_id, physio.id, starts,
             starts + timedelta(minutes=SERIES_MINUTES), "session", status, None,
             self.prices["session"], EARLY_DISCHARGE if cancelled else None, cancelled, None,
             created, cancelled or created, series_id, None, None)
        )  # fmt: skip
        # Its status history (migration 0018): booked by the admin with the series, confirmed
        # by the front desk the day before, or cancelled with the series.
        history: list[Row] = [(None, "scheduled", None, self.admin_id, "admin", created)]
        if status == "confirmed":
            confirmed = max(created, min(self.cal.now, starts - timedelta(days=1)))
            history.append(("scheduled", "confirmed", None, self.receptionist_id,
                            "receptionist", confirmed))  # fmt: skip
        elif cancelled is not None:
            history.append(("scheduled", "cancelled", EARLY_DISCHARGE, self.admin_id, "admin",
                            cancelled))  # fmt: skip
        out["appointment_status_changes"].extend(
            (self.cid, appointment_id, *change) for change in history
        )
