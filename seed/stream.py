"""A clinic's pseudo-random stream: the state every part of the generator draws from, and
its increasing ids."""

import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from seed.calendar import Calendar
from seed.reference import City, LibraryExercise

NAMESPACE = uuid.UUID("6f1c0b52-3d7e-4d8e-9a55-0f5e1a1f1a10")  # of the seeded clinics' ids
ID_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00Z, the start of seeded ids
PATIENTS_PER_PHYSIO = 40


class Appt(NamedTuple):
    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    kind: str
    status: str
    price: Decimal
    created_at: datetime


class Physio(NamedTuple):
    id: uuid.UUID
    name: str
    crefito: str


@dataclass(frozen=True)
class ClinicSpec:
    """What differs between a volume clinic and the demo clinic."""

    key: str  # seeds the clinic's pseudo-random stream
    clinic_id: uuid.UUID
    name: str
    city: City
    domain: str
    patients: int
    cpf_salt: int
    id_epoch_ms: int  # where the clinic's increasing ids start (a Unix time in ms)
    first_patient_index: int = 0  # global patient number, for unique CPFs across clinics
    physio_names: tuple[str, ...] = ()  # empty: generated
    patient_names: tuple[str, ...] = ()  # fixed names for the first patients
    patient_logins: int | None = None  # the first N patients get logins; None: ~5%
    numbered_patient_emails: bool = True
    ongoing_episodes: bool = False  # every treatment spans today (demo)
    app_user_ratio: float = 0.4  # patients who log home exercises in the app
    series: int = 3  # the first N patients' treatment goes on as a recurring series

    @property
    def admin_email(self) -> str:
        return f"admin@{self.domain}"

    @property
    def receptionist_email(self) -> str:
        return f"recepcao@{self.domain}"

    @property
    def physio_count(self) -> int:
        if self.physio_names:
            return len(self.physio_names)
        return max(2, math.ceil(self.patients / PATIENTS_PER_PHYSIO))


class ClinicStream:
    """One clinic's stream: the spec, the calendar, one `random.Random` seeded by the spec's key
    (the same spec and anchor give the same rows and ids), the ids and bookings so far. Each
    part of the generator is a subclass adding the rows of its tables.

    `between(a, b)` stands in for `self.between(a, b)` (a third of the cost)."""

    def __init__(
        self,
        spec: ClinicSpec,
        calendar: Calendar,
        password_hash: str,
        exercises: Sequence[tuple[uuid.UUID, LibraryExercise]],
    ) -> None:
        self.spec = spec
        self.cal = calendar
        self.password_hash = password_hash
        self.rng = random.Random(spec.key)
        self.random = self.rng.random
        self.counter = spec.id_epoch_ms << 12
        self.cid = spec.clinic_id
        self.exercises = {exercise.name: (id_, exercise) for id_, exercise in exercises}
        self.opened = calendar.now - timedelta(days=730)
        self.prices = self._price_table()
        self.physios: list[Physio] = []
        self.occupied: list[set[int]] = []
        self.emails: set[str] = set()
        self.admin_id = self.new_id()
        self.receptionist_id = self.new_id()
        self.physio_users: dict[uuid.UUID, uuid.UUID] = {}  # physiotherapist id → login id

    def between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low))

    def new_id(self) -> uuid.UUID:
        """A UUIDv7-shaped id: a per-clinic increasing counter in the timestamp and sequence
        fields, pseudo-random bits after it. Increasing ids land at the right edge of every
        index on them, which makes bulk loads faster than random v4 ids."""
        self.counter += 1
        count = self.counter  # 48-bit "milliseconds" + 12-bit sequence
        high = ((count >> 12) << 80) | (0x7 << 76) | ((count & 0xFFF) << 64) | (0b10 << 62)
        return uuid.UUID(int=high | self.rng.getrandbits(62))

    def _price_table(self) -> dict[str, Decimal]:
        session = self.rng.randrange(90, 170, 10)
        return {
            "evaluation": Decimal(f"{session + 60}.00"),
            "reevaluation": Decimal(f"{session + 30}.00"),
            "session": Decimal(f"{session}.00"),
            "teleconsultation": Decimal(f"{session - 20}.00"),
        }
