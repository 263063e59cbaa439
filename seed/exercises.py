"""Exercise prescriptions from the condition's library exercises, and their executions."""

import uuid
from datetime import date, datetime, timedelta

from seed.calendar import TZ
from seed.reference import EXECUTION_NOTES, PRESCRIPTION_NOTES, Condition, LibraryExercise
from seed.stream import Appt, ClinicStream, Physio
from seed.tables import Batch, Row


class ExerciseRows(ClinicStream):
    """Home exercises prescribed at the evaluation, and what the app logged."""

    def prescriptions(
        self, out: Batch, patient_id: uuid.UUID, physio: Physio, evaluated: Appt, c: Condition
    ) -> None:
        rng = self.rng
        logs = rng.random() < self.spec.app_user_ratio
        starts = evaluated.starts_at.date()
        for name in rng.sample(c.exercises, self.between(2, 4)):
            exercise_id, exercise = self.exercises[name]
            ends = starts + timedelta(days=self.between(28, 57))
            row = self.prescription_row(patient_id, physio, exercise_id, exercise, starts, ends)
            out["exercise_prescriptions"].append(row)
            if logs:
                self.executions(out, patient_id, row)

    def prescription_row(
        self,
        patient_id: uuid.UUID,
        physio: Physio,
        exercise_id: uuid.UUID,
        exercise: LibraryExercise,
        starts: date,
        ends: date,
    ) -> Row:
        rng, today = self.rng, self.cal.anchor
        timed = exercise.duration_seconds is not None
        if ends < today:
            status = "completed" if rng.random() < 0.85 else "cancelled"
        else:
            status = "active" if rng.random() < 0.88 else "paused"
        created = datetime(starts.year, starts.month, starts.day, 19, tzinfo=TZ)
        return (self.new_id(), self.cid, patient_id, exercise_id, physio.id, self.between(2, 5),
                None if timed else self.between(8, 16), exercise.duration_seconds,
                self.between(2, 6), rng.choice(PRESCRIPTION_NOTES), status, starts, ends,
                created, created)  # fmt: skip

    def executions(self, out: Batch, patient_id: uuid.UUID, prescription: Row) -> None:
        rng, cal = self.rng, self.cal
        (pid, _, _, _, _, sets, reps, seconds, per_week, _, _, starts, ends, _, _) = prescription
        assert isinstance(starts, date) and isinstance(ends, date) and isinstance(per_week, int)
        days = (min(ends, cal.anchor) - starts).days
        if days <= 0:
            return
        count = int(days / 7 * per_week * rng.uniform(0.3, 0.9))
        rows = out["exercise_executions"]
        base = datetime(starts.year, starts.month, starts.day, tzinfo=TZ)
        for k in sorted(self.between(0, days * 24) for _ in range(min(count, 24))):
            at = base + timedelta(hours=k, minutes=self.between(0, 60))
            if at >= cal.now:
                continue
            pain = max(0, 6 - 6 * k // (days * 24) - self.between(0, 3))
            note = rng.choice(EXECUTION_NOTES) if rng.random() < 0.1 else None
            sensor = (
                f'{{"source": "app", "rom_degrees": {self.between(60, 150)}}}'
                if rng.random() < 0.15
                else None
            )
            rows.append((self.new_id(), self.cid, pid, patient_id, at, sets, reps, seconds, pain,
                         note, sensor, at))  # fmt: skip
