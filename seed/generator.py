"""One clinic's rows, generated in plain Python from one pseudo-random stream."""

import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from seed.calendar import SLOTS_PER_DAY, TZ, Calendar
from seed.identifiers import cnpj_from_base, cns_from_rng, cpf_for_index, crefito, slug
from seed.reference import (
    ADDENDA,
    APPOINTMENT_NOTES,
    CANCEL_REASONS,
    COMPLIANCE_CHECKS,
    COMPLIANCE_ISSUES,
    CONDITIONS,
    CONSENTS,
    DISCHARGE_TEXT,
    DSR_DETAILS,
    DSR_KINDS,
    EVOLUTIONS,
    EXECUTION_NOTES,
    FEMALE_NAMES,
    MALE_NAMES,
    METHODS,
    NEIGHBOURHOODS,
    PRESCRIPTION_NOTES,
    SPECIALTIES,
    STREET_NAMES,
    STREET_TYPES,
    SURNAMES,
    City,
    Condition,
    LibraryExercise,
)
from seed.tables import Batch, Row, empty_batch

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


class ClinicGenerator:
    """Produces a clinic's rows as tuples in COLUMNS order; deterministic for a spec + anchor.

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

    # -- clinic, staff ----------------------------------------------------------------------

    def staff_rows(self) -> Batch:
        out = empty_batch()
        spec, opened = self.spec, self.opened
        cnpj = cnpj_from_base(self.between(10**7, 10**8))
        out["clinics"].append((self.cid, spec.name, cnpj, opened, opened))
        self._user(out, self.admin_id, spec.admin_email, "admin", None, None, opened)
        self._user(out, self.new_id(), spec.receptionist_email, "receptionist", None, None, opened)
        first_number = self.between(100_000, 800_000)
        for j in range(spec.physio_count):
            self._physio(out, j, first_number + 37 * j)
        return out

    def _physio(self, out: Batch, j: int, number: int) -> None:
        rng, spec = self.rng, self.spec
        name = spec.physio_names[j] if spec.physio_names else self.person_name()
        physio = Physio(self.new_id(), name, crefito(spec.city.crefito_region, number))
        email = self.unique_email(name, spec.domain)
        joined = self.opened + timedelta(days=self.between(0, 300))
        out["physiotherapists"].append(
            (physio.id, self.cid, name, email, physio.crefito, rng.choice(SPECIALTIES),
             self.phone(), True, joined, joined)
        )  # fmt: skip
        self._user(out, self.new_id(), email, "physiotherapist", physio.id, None, joined)
        self.physios.append(physio)
        self.occupied.append(set())

    def _user(
        self,
        out: Batch,
        user_id: uuid.UUID,
        email: str,
        role: str,
        physio_id: uuid.UUID | None,
        patient_id: uuid.UUID | None,
        at: datetime,
    ) -> None:
        out["users"].append(
            (user_id, self.cid, email, self.password_hash, role, physio_id, patient_id, True,
             at, at)
        )  # fmt: skip

    def person_name(self) -> str:
        rng = self.rng
        first = rng.choice(FEMALE_NAMES if rng.random() < 0.55 else MALE_NAMES)
        last = rng.choice(SURNAMES)
        if rng.random() < 0.7:
            return f"{first} {rng.choice(SURNAMES)} {last}"
        return f"{first} {last}"

    def unique_email(self, name: str, domain: str, number: int | None = None) -> str:
        parts = name.split()
        local = f"{slug(parts[0])}.{slug(parts[-1])}"
        if number is not None:
            local = f"{local}.{number}"
        email, n = f"{local}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def phone(self) -> str:
        return f"({self.spec.city.ddd}) 9{self.between(6000, 10000)}-{self.between(0, 10000):04d}"

    def address(self) -> str:
        rng, city = self.rng, self.spec.city
        cep = f"{city.cep_prefix:02d}{self.between(0, 1000):03d}-{self.between(0, 1000):03d}"
        return (
            f"{rng.choice(STREET_TYPES)} {rng.choice(STREET_NAMES)}, {self.between(1, 3000)} - "
            f"{rng.choice(NEIGHBOURHOODS)}, {city.name} - {city.uf}, {cep}"
        )

    # -- patients and their history ---------------------------------------------------------

    def patient_rows(self, start: int, stop: int) -> Batch:
        out = empty_batch()
        for i in range(start, stop):
            self.add_patient(i, out)
        return out

    def add_patient(self, i: int, out: Batch) -> None:
        rng, spec = self.rng, self.spec
        patient_id = self.new_id()
        physio_index = i % len(self.physios)
        physio = self.physios[physio_index]
        appts = self.appointments(patient_id, physio, self.schedule(physio_index))
        status = self.patient_status(appts)
        created = (appts[0].created_at if appts else self.cal.now) - timedelta(
            days=self.between(1, 20)
        )
        name = spec.patient_names[i] if i < len(spec.patient_names) else self.person_name()
        email = None
        if rng.random() < 0.85 or i < len(spec.patient_names):
            number = spec.first_patient_index + i + 1 if spec.numbered_patient_emails else None
            email = self.unique_email(name, spec.domain, number)
        out["patients"].append(
            (patient_id, self.cid, physio.id, name, email, self.phone(), self.birth_date(),
             cpf_for_index(spec.first_patient_index + i, spec.cpf_salt),
             cns_from_rng(rng) if rng.random() < 0.6 else None, self.address(), status,
             created, appts[-1].created_at if appts else created)
        )  # fmt: skip
        if email is not None and self.gets_login(i):
            self._user(out, self.new_id(), email, "patient", None, patient_id, created)
        self.add_history(out, patient_id, physio, appts, status, created)

    def add_history(
        self,
        out: Batch,
        patient_id: uuid.UUID,
        physio: Physio,
        appts: list[Appt],
        status: str,
        created: datetime,
    ) -> None:
        cid = self.cid
        out["appointments"].extend(
            (a.id, cid, patient_id, physio.id, a.starts_at, a.ends_at, a.kind, a.status,
             *self.appointment_details(a), a.created_at, a.created_at)
            for a in appts
        )  # fmt: skip
        self.payments(out, patient_id, appts)
        condition = self.rng.choice(CONDITIONS)
        evaluated = self.prontuarios(out, patient_id, physio, appts, status, condition)
        if evaluated is not None:
            self.prescriptions(out, patient_id, physio, evaluated, condition)
        self.consents(out, patient_id, created)
        self.data_subject_request(out, patient_id)

    def gets_login(self, i: int) -> bool:
        if self.spec.patient_logins is not None:
            return i < self.spec.patient_logins
        return self.rng.random() < 0.05

    def birth_date(self) -> date:
        rng = self.rng
        years = self.between(6, 18) if rng.random() < 0.05 else self.between(18, 88)
        return self.cal.anchor - timedelta(days=years * 365 + self.between(0, 365))

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
        if starts < self.cal.now:
            if n == 0 or roll < 0.84:
                return "completed"
            return "cancelled" if roll < 0.93 else "no_show"
        if roll < 0.04:
            return "cancelled"
        if starts < self.cal.now + timedelta(days=7) and roll < 0.6:
            return "confirmed"
        return "scheduled"

    def appointment_details(self, a: Appt) -> Row:
        """notes, price, cancel_reason, cancelled_at, completed_at"""
        rng = self.rng
        notes = rng.choice(APPOINTMENT_NOTES) if rng.random() < 0.15 else None
        if a.status == "cancelled":
            cancelled = min(a.starts_at - timedelta(hours=self.between(2, 48)), self.cal.now)
            cancelled = max(cancelled, a.created_at)
            return (notes, a.price, rng.choice(CANCEL_REASONS), cancelled, None)
        completed = a.ends_at if a.status == "completed" else None
        return (notes, a.price, None, None, completed)

    def patient_status(self, appts: list[Appt]) -> str:
        if not appts or appts[-1].starts_at >= self.cal.now:
            return "active"
        roll = self.rng.random()
        return "discharged" if roll < 0.5 else "inactive" if roll < 0.8 else "active"

    # -- payments -----------------------------------------------------------------------------

    def payments(self, out: Batch, patient_id: uuid.UUID, appts: list[Appt]) -> None:
        rng = self.rng
        method = "insurance" if rng.random() < 0.12 else rng.choice(METHODS)
        for n, a in enumerate(appts):
            charge = self.charge(a)
            if charge is None:
                continue
            amount, status, note = charge
            out["payments"].append(self.payment_row(patient_id, a, n, amount, method, status, note))

    def charge(self, a: Appt) -> tuple[Decimal, str, str | None] | None:
        """amount, status, notes of the payment for an appointment (None: no payment)."""
        roll = self.rng.random()
        if a.status == "completed":
            status = "paid" if roll < 0.86 else "pending" if roll < 0.96 else "cancelled"
            if status == "paid" and self.rng.random() < 0.015:
                status = "refunded"
            return a.price, status, None
        if a.status == "no_show":
            if roll >= 0.5:
                return None
            fee = (a.price / 2).quantize(Decimal("0.01"))
            return fee, "paid" if roll < 0.3 else "pending", "Taxa de não comparecimento"
        if a.status == "cancelled":
            return (
                (a.price, "refunded" if roll < 0.1 else "cancelled", None) if roll < 0.25 else None
            )
        if roll < 0.35:  # future appointment charged in advance
            return a.price, "paid" if roll < 0.08 else "pending", "Pagamento antecipado"
        return None

    def payment_row(
        self,
        patient_id: uuid.UUID,
        a: Appt,
        n: int,
        amount: Decimal,
        method: str,
        status: str,
        notes: str | None,
    ) -> Row:
        now = self.cal.now
        created = a.created_at if a.starts_at >= now else min(a.ends_at, now)
        due = (a.starts_at + timedelta(days=10)).date()
        paid = refunded = cancelled = None
        gateway = reason = None
        if status in ("paid", "refunded"):
            paid = min(created + timedelta(hours=self.between(0, 72)), now)
            gateway = self.gateway_id(method)
        if status == "refunded":
            refunded = min(paid + timedelta(days=self.between(1, 10)), now) if paid else None
            reason = "Estorno solicitado pelo paciente"
        if status == "cancelled":
            cancelled = min(created + timedelta(days=self.between(0, 5)), now)
            reason = "Atendimento cancelado" if a.status == "cancelled" else "Cortesia"
        payment_id = self.new_id()
        updated = refunded or cancelled or paid or created
        return (payment_id, self.cid, patient_id, a.id, amount, method, status, due, paid,
                refunded, cancelled, reason, gateway, notes, f"seed-{payment_id.hex}",
                f"seed:{patient_id.hex[:8]}:{n}", created, updated)  # fmt: skip

    def gateway_id(self, method: str) -> str | None:
        bits = self.rng.getrandbits(64)
        if method == "pix":
            return f"E{bits:020d}"[:21]
        if method in ("credit_card", "debit_card"):
            return f"ch_{bits:016x}"
        if method == "boleto":
            return f"bol_{bits:016x}"
        if method == "insurance":
            return f"guia-{bits % 10**9:09d}"
        return None

    # -- prontuários ----------------------------------------------------------------------------

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

    # -- exercises --------------------------------------------------------------------------

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

    # -- LGPD -------------------------------------------------------------------------------

    def consents(self, out: Batch, patient_id: uuid.UUID, created: datetime) -> None:
        rng = self.rng
        for purpose, basis, share in CONSENTS:
            if rng.random() >= share:
                continue
            revoked = None
            if share < 1.0 and rng.random() < 0.1:
                revoked = min(created + timedelta(days=self.between(10, 200)), self.cal.now)
            out["consents"].append(
                (self.new_id(), self.cid, patient_id, purpose, basis, "2024.1", revoked is None,
                 created, revoked, created, revoked or created)
            )  # fmt: skip

    def data_subject_request(self, out: Batch, patient_id: uuid.UUID) -> None:
        rng, now = self.rng, self.cal.now
        if rng.random() >= 0.005:
            return
        requested = now - timedelta(days=self.between(1, 120), hours=self.between(0, 24))
        due = requested + timedelta(days=15)
        fulfilled = response = None
        if rng.random() < 0.7:
            fulfilled = min(requested + timedelta(days=self.between(1, 14)), now)
            response = "Solicitação atendida; resposta enviada por e-mail ao titular."
        kind = rng.choice(DSR_KINDS)
        out["data_subject_requests"].append(
            (self.new_id(), self.cid, patient_id, kind, DSR_DETAILS, requested, due, fulfilled,
             response, requested, fulfilled or requested)
        )  # fmt: skip

    # -- compliance -------------------------------------------------------------------------

    def compliance_rows(self) -> Batch:
        out = empty_batch()
        rng, now = self.rng, self.cal.now
        check_ids: dict[str, uuid.UUID] = {}
        for framework, check_type, description in COMPLIANCE_CHECKS:
            check_id = self.new_id()
            check_ids.setdefault(framework, check_id)
            score = self.between(55, 101)
            state = "compliant" if score >= 80 else "non_compliant" if score >= 60 else "pending"
            checked = now - timedelta(days=self.between(1, 60))
            severity = "low" if score >= 80 else "medium" if score >= 70 else "high"
            out["compliance_checks"].append(
                (check_id, self.cid, framework, check_type, state, severity, score, checked,
                 checked + timedelta(days=90), 0 if score >= 80 else self.between(1, 5),
                 description, ["Revisar o procedimento com a equipe."] if score < 80 else [],
                 checked)
            )  # fmt: skip
        for framework, requirement, description in COMPLIANCE_ISSUES:
            created = now - timedelta(days=self.between(1, 90))
            resolved = rng.random() < 0.4
            out["compliance_issues"].append(
                (self.new_id(), self.cid, check_ids[framework], framework, requirement,
                 description, rng.choice(("low", "medium", "high", "critical")), resolved,
                 "Corrigido e verificado." if resolved else None, created,
                 created + timedelta(days=3) if resolved else None)
            )  # fmt: skip
        return out
