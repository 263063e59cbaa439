"""The patient's front-desk data (insurance, emergency contact, contact channel), clinical
profile and weekly vital signs, with pain going down over the treatment.

Drawn from a generator of the patient's own (seeded by its id), not the clinic's stream, so
adding these rows changed none of the rows the stream made before."""

import random
import uuid
from datetime import timedelta
from decimal import Decimal

from seed.reference import (
    ALLERGIES,
    CHANNEL_WEIGHTS,
    CHRONIC_CONDITIONS,
    FEMALE_NAMES,
    INSURERS,
    MALE_NAMES,
    MEDICATIONS,
    RELATIONSHIPS,
    SURNAMES,
)
from seed.stream import Appt, ClinicStream, Physio
from seed.tables import Batch, Row

CHANNELS = tuple(channel for channel, _ in CHANNEL_WEIGHTS)
WEIGHTS = tuple(weight for _, weight in CHANNEL_WEIGHTS)


def _own(patient_id: uuid.UUID, part: str) -> random.Random:
    return random.Random(f"{patient_id}:{part}")


class ProfileRows(ClinicStream):
    """Columns of the patient's row, and the rows of clinical_profiles and vital_signs."""

    def front_desk(self, patient_id: uuid.UUID) -> Row:
        """contact_channel, insurance (provider, plan, member number, valid until) and
        emergency contact (name, phone, relationship), in the patients table's order."""
        rng = _own(patient_id, "front desk")
        channel = rng.choices(CHANNELS, WEIGHTS)[0]
        insurance: Row = (None, None, None, None)
        if rng.random() < 0.45:  # most Brazilians pay out of pocket
            provider, plans = rng.choice(INSURERS)
            valid = self.cal.anchor + timedelta(days=rng.randrange(-60, 720))
            number = "".join(str(rng.randrange(10)) for _ in range(rng.choice((9, 12, 16))))
            insurance = (provider, rng.choice(plans), number, valid)
        contact: Row = (None, None, None)
        if rng.random() < 0.7:
            first = rng.choice(FEMALE_NAMES if rng.random() < 0.6 else MALE_NAMES)
            phone = f"+55{self.spec.city.ddd}9{rng.randrange(60_000_000, 100_000_000)}"
            contact = (f"{first} {rng.choice(SURNAMES)}", phone, rng.choice(RELATIONSHIPS))
        return (channel, *insurance, *contact)

    def clinical_data(
        self, out: Batch, patient_id: uuid.UUID, physio: Physio, appts: list[Appt]
    ) -> None:
        """A profile written at the evaluation and a reading a week while treated."""
        done = [a for a in appts if a.status == "completed"]
        if not done:
            return
        rng = _own(patient_id, "clinical")
        at = done[0].ends_at

        def some(choices: tuple[str, ...], chance: float, most: int) -> list[str]:
            return rng.sample(choices, rng.randint(1, most)) if rng.random() < chance else []

        out["clinical_profiles"].append(
            (uuid.uuid5(patient_id, "clinical profile"), self.cid, patient_id,
             some(ALLERGIES, 0.3, 2), some(CHRONIC_CONDITIONS, 0.4, 2),
             some(MEDICATIONS, 0.5, 3), physio.id, at, at)
        )  # fmt: skip
        weekly = list({a.starts_at.isocalendar()[:2]: a for a in reversed(done)}.values())[::-1]
        pain = rng.randint(6, 9)
        weight = Decimal(f"{rng.uniform(50, 110):.1f}")
        for week, a in enumerate(weekly):
            level = max(0, pain - round(week * pain / max(len(weekly), 4)) - rng.randint(0, 1))
            systolic = rng.randint(105, 145)
            measured = a.starts_at + timedelta(minutes=5)
            out["vital_signs"].append(
                (uuid.uuid5(patient_id, f"vital signs {week}"), self.cid, patient_id, measured,
                 physio.id, rng.randint(58, 98), systolic, systolic - rng.randint(30, 50),
                 rng.randint(12, 20), rng.randint(94, 100),
                 Decimal(f"{rng.uniform(35.8, 37.2):.1f}"), level, weight, None, measured)
            )  # fmt: skip
