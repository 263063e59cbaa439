"""Prontuários: the evaluation, the evolutions, a discharge note, the odd addendum."""

import uuid
from datetime import datetime, timedelta

from seed.reference import ADDENDA, DISCHARGE_TEXT, EVOLUTIONS, Condition
from seed.stream import Appt, ClinicStream, Physio
from seed.tables import Batch, Row


class ProntuarioRows(ClinicStream):
    """The clinical record of a treatment's completed appointments."""

    def prontuarios(
        self,
        out: Batch,
        patient_id: uuid.UUID,
        physio: Physio,
        appts: list[Appt],
        status: str,
        condition: Condition,
    ) -> Appt | None:
        """The evaluation on the first completed appointment, then an evolution for (almost)
        every completed one, a discharge note for discharged patients. Returns the evaluated
        appointment."""
        done = [a for a in appts if a.status == "completed"]
        if not done:
            return None
        rng = self.rng
        rows = out["prontuarios"]
        rows.append(self.evaluation_row(patient_id, physio, done[0], len(appts), condition))
        for n, a in enumerate(done[1:], start=1):
            last = n == len(done) - 1
            if last and status == "discharged":
                kind, text = "discharge", DISCHARGE_TEXT
            elif rng.random() < 0.03:
                continue  # the occasional missing evolution (a compliance finding)
            else:
                kind = "evolution"
                text = f"Sessão {n + 1}. {rng.choice(EVOLUTIONS)} EVA {self.between(0, 7)}/10."
            rows.append(
                (self.new_id(), self.cid, patient_id, physio.id, a.id, kind, None, None, None,
                 None, None, None, text, None, physio.name, physio.crefito, self.noted(a))
            )  # fmt: skip
        if rng.random() < 0.08:
            self.addendum(out, rows[-1], physio)
        return done[0]

    def evaluation_row(
        self, patient_id: uuid.UUID, physio: Physio, a: Appt, sessions: int, c: Condition
    ) -> Row:
        vitals = (
            f'{{"pa": "{self.between(105, 145)}/{self.between(65, 95)}", '
            f'"fc": {self.between(58, 98)}, "spo2": {self.between(93, 100)}, '
            f'"eva": {self.between(3, 10)}}}'
        )
        return (self.new_id(), self.cid, patient_id, physio.id, a.id, "evaluation", c.anamnesis,
                c.physical_exam, c.diagnosis, c.prognosis, c.treatment_plan, max(1, sessions),
                None, vitals, physio.name, physio.crefito, self.noted(a))  # fmt: skip

    def noted(self, a: Appt) -> datetime:
        return a.ends_at + timedelta(minutes=self.between(5, 120))

    def addendum(self, out: Batch, prontuario: Row, physio: Physio) -> None:
        created = prontuario[-1]
        assert isinstance(created, datetime)
        at = min(created + timedelta(hours=self.between(2, 72)), self.cal.now)
        out["prontuario_addenda"].append(
            (self.new_id(), self.cid, prontuario[0], physio.id, self.rng.choice(ADDENDA),
             max(at, created))
        )  # fmt: skip
