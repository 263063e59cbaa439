"""One clinic's rows, generated in plain Python from one pseudo-random stream."""

import uuid
from datetime import date, datetime, timedelta

from seed.appointments import AppointmentRows
from seed.calendar import FUTURE_DAYS, TZ, WORKDAYS, WORKING_HOURS
from seed.clinical import ProntuarioRows
from seed.compliance import ComplianceRows
from seed.exercises import ExerciseRows
from seed.identifiers import cnpj_from_base, cns_from_rng, cpf_for_index, crefito, slug
from seed.payments import PaymentRows
from seed.profile import ProfileRows
from seed.reference import (
    CONDITIONS,
    FEMALE_NAMES,
    MALE_NAMES,
    NEIGHBOURHOODS,
    SPECIALTIES,
    STREET_NAMES,
    STREET_TYPES,
    SURNAMES,
)
from seed.series import SeriesRows
from seed.stream import Appt, Physio
from seed.tables import Batch, empty_batch


class ClinicGenerator(
    AppointmentRows,
    SeriesRows,
    PaymentRows,
    ProntuarioRows,
    ExerciseRows,
    ComplianceRows,
    ProfileRows,
):
    """Produces a clinic's rows as tuples in COLUMNS order: the clinic and its staff, then
    patients in chunks (each with its history), then the compliance rows."""

    def staff_rows(self) -> Batch:
        out = empty_batch()
        spec, opened = self.spec, self.opened
        cnpj = cnpj_from_base(self.between(10**7, 10**8))
        out["clinics"].append((self.cid, spec.name, cnpj, opened, opened))
        self._user(out, self.admin_id, spec.admin_email, "admin", None, None, opened)
        self._user(
            out, self.receptionist_id, spec.receptionist_email, "receptionist", None, None, opened
        )
        first_number = self.between(100_000, 800_000)
        for j in range(spec.physio_count):
            self._physio(out, j, first_number + 37 * j)
        out["clinic_holidays"].extend(
            (self.new_id(), self.cid, day, name, opened) for day, name in self.cal.holidays
        )
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
        self.physio_users[physio.id] = self.new_id()
        self._user(
            out, self.physio_users[physio.id], email, "physiotherapist", physio.id, None, joined
        )
        out["working_hours"].extend(
            (self.new_id(), self.cid, physio.id, weekday, start, end, joined)
            for weekday in WORKDAYS
            for start, end in WORKING_HOURS
        )
        # A week's vacation after the seeded agenda ends, so no seeded session falls in it.
        first = self.cal.anchor + timedelta(days=FUTURE_DAYS + 7 * self.between(1, 8))
        vacation = datetime(first.year, first.month, first.day, tzinfo=TZ)
        out["time_off"].append(
            (self.new_id(), self.cid, physio.id, vacation, vacation + timedelta(days=7),
             rng.choice(("Férias", "Congresso de fisioterapia", "Curso de especialização")),
             joined)
        )  # fmt: skip
        self.physios.append(physio)
        self.occupied.append(set())

    def former_staff_rows(self, email: str) -> Batch:
        """The login of someone who left the clinic, deactivated by its admin: it lists among
        the staff logins and cannot log in."""
        out = empty_batch()
        left = self.opened + timedelta(days=self.between(30, 200))
        self._user(out, self.new_id(), email, "receptionist", None, None, left, active=False)
        return out

    def _user(
        self,
        out: Batch,
        user_id: uuid.UUID,
        email: str,
        role: str,
        physio_id: uuid.UUID | None,
        patient_id: uuid.UUID | None,
        at: datetime,
        *,
        active: bool = True,
    ) -> None:
        out["users"].append(
            (user_id, self.cid, email, self.password_hash, role, physio_id, patient_id, active,
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
             created, appts[-1].created_at if appts else created, *self.front_desk(patient_id))
        )  # fmt: skip
        if email is not None and self.gets_login(i):
            self._user(out, self.new_id(), email, "patient", None, patient_id, created)
        self.add_history(out, patient_id, physio, appts, status, created)
        if i < spec.series:
            self.add_series(out, i, patient_id, physio_index)

    def add_history(
        self,
        out: Batch,
        patient_id: uuid.UUID,
        physio: Physio,
        appts: list[Appt],
        status: str,
        created: datetime,
    ) -> None:
        self.appointment_rows(out, patient_id, physio, appts)
        self.payments(out, patient_id, appts)
        condition = self.rng.choice(CONDITIONS)
        evaluated = self.prontuarios(out, patient_id, physio, appts, status, condition)
        self.clinical_data(out, patient_id, physio, appts)
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
