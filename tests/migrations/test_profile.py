"""Migration 0019's rules as the database holds them: the vital-sign ranges are the ones
models/clinical.py declares (the API validates with those), each CHECK maps to the input
field a client fixes, and the clinical lists are bounded whatever path writes them."""

from decimal import Decimal

import asyncpg
import pytest

from graph.core.errors import CONSTRAINT_FIELDS
from models.clinical import NUMERIC_MEASUREMENTS, VITAL_SIGN_RANGES
from models.type_map import camel_case
from tests.support.factories import ClinicWorld, make_clinic

INSERT = (
    "insert into vital_signs (clinic_id, patient_id, recorded_by, {column}, {partner})"
    " values ($1, $2, $3, $4::numeric, $5)"
)
# Blood pressure is a pair, systolic above diastolic: each is tried with a partner that keeps
# the pair valid whatever its own value; the others beside a plain heart rate or pain level.
PARTNERS = {"systolic": ("diastolic", 40), "diastolic": ("systolic", 259)}


async def _accepts(
    conn: asyncpg.Connection, world: ClinicWorld, column: str, value: Decimal
) -> bool:
    default = ("heart_rate", 70) if column == "pain_level" else ("pain_level", 0)
    partner, other = PARTNERS.get(column, default)
    sql = INSERT.format(column=column, partner=partner)
    physio = world.physio.physiotherapist_id
    try:
        async with conn.transaction():
            await conn.execute(sql, world.clinic_id, world.patient_ids[0], physio, value, other)
            raise _RolledBack
    except _RolledBack:
        return True
    except asyncpg.CheckViolationError as error:
        assert error.constraint_name == f"vital_signs_{column}_check"
        return False


class _RolledBack(Exception):
    pass


@pytest.mark.parametrize("column", list(VITAL_SIGN_RANGES))
async def test_the_database_ranges_are_the_declared_ones(
    superuser: asyncpg.Connection, column: str
) -> None:
    world = await make_clinic(superuser)
    low, high = (Decimal(bound) for bound in VITAL_SIGN_RANGES[column])
    step = (
        Decimal(1).scaleb(-NUMERIC_MEASUREMENTS[column][1])
        if column in NUMERIC_MEASUREMENTS
        else Decimal(1)
    )
    assert await _accepts(superuser, world, column, low)
    assert await _accepts(superuser, world, column, high)
    assert not await _accepts(superuser, world, column, low - step)
    assert not await _accepts(superuser, world, column, high + step)


# References no input names: the clinic and the writer come from the caller's identity.
OTHER_REFERENCES = ("_clinic_id_fkey", "_recorded_by_fkey", "_updated_by_fkey")


async def test_every_new_check_names_its_input_field(superuser: asyncpg.Connection) -> None:
    names = await superuser.fetch(
        "select conname from pg_constraint where contype in ('c', 'f')"
        " and conrelid in ('vital_signs'::regclass, 'clinical_profiles'::regclass)"
        " or conname like 'patients_insurance%' or conname like 'patients_emergency%'"
        " or conname = 'patients_contact_channel_check'"
    )
    unmapped = {
        row["conname"]
        for row in names
        if row["conname"] not in CONSTRAINT_FIELDS
        and not row["conname"].endswith(
            ("_clinic_id_fkey", "_recorded_by_fkey", "_updated_by_fkey")
        )
    }
    assert unmapped == set()
    for column in VITAL_SIGN_RANGES:
        assert CONSTRAINT_FIELDS[f"vital_signs_{column}_check"] == camel_case(column)


@pytest.mark.parametrize(
    "allergies",
    [
        [f"Alergia {n}" for n in range(51)],
        ["x" * 201],
        [""],
        [" Látex"],
        [None],
        [["Látex"], ["Iodo"]],
    ],
)
async def test_clinical_lists_are_bounded_in_the_database(
    superuser: asyncpg.Connection, allergies: list[object]
) -> None:
    world = await make_clinic(superuser)
    with pytest.raises(asyncpg.CheckViolationError):
        await superuser.execute(
            "insert into clinical_profiles (clinic_id, patient_id, updated_by, allergies)"
            " values ($1, $2, $3, $4)",
            world.clinic_id,
            world.patient_ids[0],
            world.physio.physiotherapist_id,
            allergies,
        )
