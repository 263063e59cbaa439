"""The appointments of a treatment: free hourly slots, kinds, statuses, prices, and the status
history of each (as migration 0018's triggers would have written it)."""

import uuid
from datetime import datetime, timedelta

from seed.calendar import SLOTS_PER_DAY
from seed.reference import APPOINTMENT_NOTES, CANCEL_REASONS, NO_SHOW_REASONS
from seed.stream import Appt, ClinicStream, Physio
from seed.tables import Batch, Row

CHECK_IN_WINDOW = timedelta(hours=2)  # migration 0018: check-in opens 2 h before the start


class AppointmentRows(ClinicStream):
    """A treatment's appointments in the physiotherapist's free slots."""

    def schedule(self, physio_index: int) -> list[int]:
        """Free slots (day * SLOTS_PER_DAY + hour) of the physiotherapist for one treatment:
        roughly twice a week at the patient's usual hour, moved to the next free hour."""
        rng, cal = self.rng, self.cal
        occupied = self.occupied[physio_index]
        count = self.between(6, 15)
        last_day = len(cal.days)
        if self.spec.ongoing_episodes:
            day = max(0, cal.first_future_day - self.between(8, 25))
        else:
            day = self.between(0, max(1, last_day - count * 3))
        hour = self.between(0, SLOTS_PER_DAY)
        slots: list[int] = []
        while len(slots) < count and day < last_day:
            slot = self.free_slot(occupied, day, hour)
            if slot is None:
                break
            occupied.add(slot)
            slots.append(slot)
            day = slot // SLOTS_PER_DAY + rng.choice((2, 2, 3, 3, 3, 4, 5, 7, 10))
        return slots

    def free_slot(self, occupied: set[int], day: int, hour: int) -> int | None:
        for d in range(day, len(self.cal.days)):
            for k in range(SLOTS_PER_DAY):
                slot = d * SLOTS_PER_DAY + (hour + k) % SLOTS_PER_DAY
                if slot not in occupied:
                    return slot
        return None

    def appointments(self, patient_id: uuid.UUID, physio: Physio, slots: list[int]) -> list[Appt]:
        cal = self.cal
        now = cal.now
        appts: list[Appt] = []
        booked = cal.slot_starts[slots[0]] - timedelta(days=self.between(1, 15)) if slots else now
        for n, slot in enumerate(slots):
            starts = cal.slot_starts[slot]
            kind = self.appointment_kind(n)
            minutes = 60 if kind in ("evaluation", "reevaluation") else 50
            status = self.appointment_status(starts, n)
            created = min(booked, now - timedelta(hours=1))
            appts.append(
                Appt(self.new_id(), starts, starts + timedelta(minutes=minutes), kind, status,
                     self.prices[kind], created)
            )  # fmt: skip
            booked = starts
        return appts

    def appointment_kind(self, n: int) -> str:
        if n == 0:
            return "evaluation"
        if n % 8 == 0:
            return "reevaluation"
        return "teleconsultation" if self.rng.random() < 0.08 else "session"

    def appointment_status(self, starts: datetime, n: int) -> str:
        roll = self.rng.random()
        now = self.cal.now
        if now - timedelta(hours=1) < starts < now + CHECK_IN_WINDOW and roll < 0.7:
            return "checked_in"  # in the waiting room, or in session now
        if starts < now:
            if n == 0 or roll < 0.84:
                return "completed"
            return "cancelled" if roll < 0.93 else "no_show"
        if roll < 0.04:
            return "cancelled"
        if starts < self.cal.now + timedelta(days=7) and roll < 0.6:
            return "confirmed"
        return "scheduled"

    def appointment_rows(
        self, out: Batch, patient_id: uuid.UUID, physio: Physio, appts: list[Appt]
    ) -> None:
        """The appointments' rows and their status histories."""
        for a in appts:
            details, history = self.lifecycle(a, physio)
            out["appointments"].append(
                (a.id, self.cid, patient_id, physio.id, a.starts_at, a.ends_at, a.kind, a.status,
                 *details[:5], a.created_at, a.created_at, None, *details[5:])
            )  # fmt: skip
            out["appointment_status_changes"].extend(
                (self.cid, a.id, before, after, reason, actor, role, at)
                for before, after, reason, actor, role, at in history
            )

    def lifecycle(self, a: Appt, physio: Physio) -> tuple[Row, list[Row]]:
        """(notes, price, cancel_reason, cancelled_at, completed_at, checked_in_at,
        no_show_reason) and the history: (from, to, reason, actor, actor role, at) rows, the
        booking by the front desk first."""
        rng, now = self.rng, self.cal.now
        notes = rng.choice(APPOINTMENT_NOTES) if rng.random() < 0.15 else None
        desk = (self.receptionist_id, "receptionist")
        history: list[Row] = [(None, "scheduled", None, *desk, a.created_at)]
        status = "scheduled"

        def step(to: str, at: datetime, reason: str | None = None, by: Row = desk) -> None:
            nonlocal status
            history.append((status, to, reason, *by, at))
            status = to

        cancel_reason = cancelled = completed = arrived = no_show_reason = None
        if a.status in ("confirmed", "checked_in", "completed") and (
            a.status == "confirmed" or rng.random() < 0.6
        ):
            step("confirmed", max(a.created_at, min(now, a.starts_at - timedelta(days=1))))
        if a.status in ("checked_in", "completed"):
            early = timedelta(minutes=self.between(2, 20))
            arrived = max(min(now, a.starts_at - early), a.starts_at - CHECK_IN_WINDOW)
            step("checked_in", arrived)
        if a.status == "completed":
            completed = a.ends_at
            step("completed", completed, by=(self.physio_users[physio.id], "physiotherapist"))
        elif a.status == "cancelled":
            cancelled = min(a.starts_at - timedelta(hours=self.between(2, 48)), now)
            cancelled = max(cancelled, a.created_at)
            cancel_reason = rng.choice(CANCEL_REASONS)
            step("cancelled", cancelled, cancel_reason)
        elif a.status == "no_show":
            no_show_reason = rng.choice(NO_SHOW_REASONS)
            step("no_show", a.ends_at, no_show_reason)
        details = (notes, a.price, cancel_reason, cancelled, completed, arrived, no_show_reason)
        return details, history

    def patient_status(self, appts: list[Appt]) -> str:
        if not appts or appts[-1].starts_at >= self.cal.now:
            return "active"
        roll = self.rng.random()
        return "discharged" if roll < 0.5 else "inactive" if roll < 0.8 else "active"
