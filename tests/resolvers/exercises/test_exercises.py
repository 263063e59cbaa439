"""The exercise library, prescriptions, home-exercise logging and adherence through the ASGI
app: search, who may write and read what, the rules of a logged execution, and query cost."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from graph.core.calendar import CLINIC_TIME_ZONE, clinic_today
from graph.core.ids import to_global_id
from models.exercises import exercises
from resolvers.exercises.search import exercise_conditions
from tests.support.factories import (
    ClinicWorld,
    add_execution,
    add_prescription,
    library_exercise,
    make_clinic,
)
from tests.support.graphql_client import StatementCounter, error_codes, graphql

EXERCISES = """query($category: String, $search: String, $first: Int, $after: String) {
  exercises(category: $category, search: $search, first: $first, after: $after) {
    totalCount edges { cursor node { id name category shared } }
    pageInfo { hasNextPage endCursor }
  }
}"""
CREATE_EXERCISE = """mutation($input: CreateExerciseInput!) {
  createExercise(input: $input) {
    id name description category difficulty durationSeconds instructions videoUrl imageUrl shared
  }
}"""
PRESCRIBE = """mutation($input: PrescribeExerciseInput!) {
  prescribeExercise(input: $input) {
    id sets repetitions durationSeconds frequencyPerWeek notes status startsOn endsOn adherence
    patient { name } exercise { name } physiotherapist { name }
    executions { totalCount }
  }
}"""
SET_STATUS = """mutation($input: SetPrescriptionStatusInput!) {
  setPrescriptionStatus(input: $input) { id status endsOn } }"""
LOG = """mutation($input: LogExerciseExecutionInput!) {
  logExerciseExecution(input: $input) {
    id executedAt setsDone repetitionsDone durationSeconds painLevel patientNotes sensorData
    patient { name } prescription { id status }
  }
}"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
PRESCRIPTIONS = """query($status: PrescriptionStatus) {
  prescriptions(first: 100, status: $status) { totalCount edges { node { id } } }
  patients(first: 20) { edges { node { id prescriptions(first: 5, status: $status) {
    totalCount edges { node { id adherence executions(first: 5) {
      totalCount edges { node { id } } } } }
  } } } }
}"""
ADHERENCE = """query($id: ID!) { node(id: $id) { ... on ExercisePrescription { adherence } } }"""


def _physio(world: ClinicWorld) -> uuid.UUID:
    assert world.physio.physiotherapist_id is not None
    return world.physio.physiotherapist_id


def _names(body: dict[str, Any]) -> list[str]:
    assert "errors" not in body, body
    return [e["node"]["name"] for e in body["data"]["exercises"]["edges"]]


def _at_noon(day: date) -> datetime:
    """Midday of `day` on the clinic's calendar."""
    return datetime.combine(day, time(12), CLINIC_TIME_ZONE)


async def test_shared_library_and_clinic_exercises(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    other = await make_clinic(superuser)
    library = await graphql(client, EXERCISES, {"first": 100}, token=world.token(world.patient))
    assert len(_names(library)) >= 30
    assert all(e["node"]["shared"] for e in library["data"]["exercises"]["edges"])
    shared_count = library["data"]["exercises"]["totalCount"]

    made = await graphql(
        client,
        CREATE_EXERCISE,
        {
            "input": {
                "name": " Mobilização escapular na parede ",
                "category": "Mobilidade",
                "difficulty": "MEDIUM",
                "description": "Deslizamento dos braços na parede.",
                "durationSeconds": 60,
                "instructions": [" Costas na parede. ", "Deslize os braços para cima."],
                "videoUrl": "https://videos.example.com/escapula.mp4",
            }
        },
        token=world.token(world.physio),
    )
    assert "errors" not in made, made
    exercise = made["data"]["createExercise"]
    assert exercise["name"] == "Mobilização escapular na parede"
    assert exercise["instructions"] == ["Costas na parede.", "Deslize os braços para cima."]
    assert exercise["shared"] is False and exercise["difficulty"] == "MEDIUM"
    admin_made = await graphql(
        client,
        CREATE_EXERCISE,
        {"input": {"name": "Caminhada", "category": "Aeróbico", "difficulty": "EASY"}},
        token=world.token(world.admin),
    )
    assert admin_made["data"]["createExercise"]["instructions"] == []

    for who in (world.receptionist, world.patient):
        body = await graphql(
            client,
            CREATE_EXERCISE,
            {"input": {"name": "X", "category": "Y", "difficulty": "EASY"}},
            token=world.token(who),
        )
        assert error_codes(body) == ["FORBIDDEN"], who.role

    mine = await graphql(client, EXERCISES, {"first": 100}, token=world.token(world.receptionist))
    assert mine["data"]["exercises"]["totalCount"] == shared_count + 2
    theirs = await graphql(client, EXERCISES, {"first": 100}, token=other.token(other.physio))
    assert theirs["data"]["exercises"]["totalCount"] == shared_count
    node = await graphql(client, NODE, {"id": exercise["id"]}, token=other.token(other.admin))
    assert node["data"]["node"] is None
    node = await graphql(client, NODE, {"id": exercise["id"]}, token=world.token(world.patient))
    assert node["data"]["node"] == {"id": exercise["id"]}

    bad: list[tuple[dict[str, Any], str]] = [
        ({"name": " "}, "name"),
        ({"category": ""}, "category"),
        ({"durationSeconds": 0}, "durationSeconds"),
        ({"instructions": ["Passo 1", "  "]}, "instructions"),
        ({"videoUrl": "javascript:alert(1)"}, "videoUrl"),
        ({"imageUrl": "ftp://example.com/x.png"}, "imageUrl"),
    ]
    for change, field in bad:
        body = await graphql(
            client,
            CREATE_EXERCISE,
            {"input": {"name": "Válido", "category": "Teste", "difficulty": "EASY", **change}},
            token=world.token(world.physio),
        )
        assert error_codes(body) == ["BAD_USER_INPUT"], field
        assert body["errors"][0]["extensions"]["field"] == field


async def test_search_ignores_accents_and_case(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    token = world.token(world.physio)
    await graphql(
        client,
        CREATE_EXERCISE,
        {
            "input": {
                "name": "Alongamento cervical",
                "category": "Alongamento",
                "difficulty": "EASY",
            }
        },
        token=token,
    )
    found = _names(await graphql(client, EXERCISES, {"search": "alongamento"}, token=token))
    assert "Alongamento cervical" in found
    assert "Alongamento de panturrilha na parede" in found
    assert found == sorted(found)
    # Every word must appear, in the name, category or description ("Reduz tensão cervical.").
    assert _names(
        await graphql(client, EXERCISES, {"search": "ALONGAMENTO  Cervical"}, token=token)
    ) == ["Alongamento cervical", "Alongamento de trapézio superior"]
    # "equilibrio" finds the Equilíbrio exercises (category and descriptions).
    balance = _names(await graphql(client, EXERCISES, {"search": "equilibrio"}, token=token))
    assert "Apoio unipodal" in balance and "Marcha em tandem" in balance
    assert _names(await graphql(client, EXERCISES, {"search": "ponte GLUTEA"}, token=token)) == [
        "Ponte glútea"
    ]
    assert _names(await graphql(client, EXERCISES, {"search": "100%"}, token=token)) == []
    assert _names(await graphql(client, EXERCISES, {"search": "   "}, token=token)) != []

    by_category = await graphql(
        client, EXERCISES, {"category": "equilibrio", "first": 100}, token=token
    )
    in_category = by_category["data"]["exercises"]["edges"]
    assert in_category and all(e["node"]["category"] == "Equilíbrio" for e in in_category)

    # Keyset pages over a search.
    first = await graphql(client, EXERCISES, {"search": "alongamento", "first": 3}, token=token)
    page = first["data"]["exercises"]
    assert page["pageInfo"]["hasNextPage"] and page["totalCount"] == len(found)
    rest = await graphql(
        client,
        EXERCISES,
        {"search": "alongamento", "first": 100, "after": page["pageInfo"]["endCursor"]},
        token=token,
    )
    assert _names(first) + _names(rest) == found

    categories = await graphql(client, "{ exerciseCategories }", token=token)
    assert {"Alongamento", "Equilíbrio", "Fortalecimento"} <= set(
        categories["data"]["exerciseCategories"]
    )


async def test_search_uses_the_trigram_index(superuser: asyncpg.Connection) -> None:
    """The resolver's search expression is the index's: the planner can use it."""
    statement = select(exercises.c.id).where(*exercise_conditions("Alongamento", "alongamento"))
    sql = str(
        statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    async with superuser.transaction():
        await superuser.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await superuser.fetch("EXPLAIN " + sql))
    assert "exercises_search_idx" in plan, plan


def _prescription(world: ClinicWorld, exercise_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "patientId": to_global_id("Patient", world.patient_ids[0]),
            "exerciseId": to_global_id("Exercise", exercise_id),
            "sets": 3,
            "repetitions": 12,
            "frequencyPerWeek": 4,
            "startsOn": clinic_today().isoformat(),
            "endsOn": (clinic_today() + timedelta(days=28)).isoformat(),
            "notes": "Sem dor acima de 5/10.",
            **extra,
        }
    }


async def test_physiotherapist_prescribes_for_patients_they_treat(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    other = await make_clinic(superuser)
    bridge = await library_exercise(superuser)
    token = world.token(world.physio)
    body = await graphql(client, PRESCRIBE, _prescription(world, bridge), token=token)
    assert "errors" not in body, body
    made = body["data"]["prescribeExercise"]
    assert made["status"] == "ACTIVE" and made["frequencyPerWeek"] == 4
    assert made["exercise"] == {"name": "Ponte glútea"}
    assert made["physiotherapist"] == {"name": "Ana Souza"}
    assert made["executions"] == {"totalCount": 0}
    assert made["adherence"] == 0.0  # expected 4/7 today, none logged yet
    timed = await graphql(
        client,
        PRESCRIBE,
        _prescription(world, bridge, repetitions=None, durationSeconds=45, endsOn=None),
        token=token,
    )
    assert timed["data"]["prescribeExercise"]["durationSeconds"] == 45

    theirs = await graphql(
        client,
        CREATE_EXERCISE,
        {"input": {"name": "Exclusivo", "category": "Outro", "difficulty": "EASY"}},
        token=other.token(other.physio),
    )
    their_exercise = theirs["data"]["createExercise"]["id"]
    yesterday = (clinic_today() - timedelta(days=1)).isoformat()
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"sets": 0}, "BAD_USER_INPUT", "sets"),
        ({"frequencyPerWeek": 22}, "BAD_USER_INPUT", "frequencyPerWeek"),
        ({"repetitions": None}, "BAD_USER_INPUT", "repetitions"),
        ({"repetitions": -1}, "BAD_USER_INPUT", "repetitions"),
        ({"durationSeconds": 0}, "BAD_USER_INPUT", "durationSeconds"),
        ({"endsOn": yesterday, "startsOn": yesterday}, "BAD_USER_INPUT", "endsOn"),
        (
            {"startsOn": clinic_today().isoformat(), "endsOn": yesterday},
            "BAD_USER_INPUT",
            "endsOn",
        ),
        ({"exerciseId": to_global_id("Exercise", uuid.uuid4())}, "NOT_FOUND", "exerciseId"),
        ({"exerciseId": their_exercise}, "NOT_FOUND", "exerciseId"),
        ({"patientId": to_global_id("Patient", uuid.uuid4())}, "NOT_FOUND", "patientId"),
        # Patient 3 is Bruno's: Ana does not treat them.
        ({"patientId": to_global_id("Patient", world.patient_ids[3])}, "FORBIDDEN", "patientId"),
    ]
    for change, code, field in cases:
        body = await graphql(client, PRESCRIBE, _prescription(world, bridge, **change), token=token)
        assert error_codes(body) == [code], (change, body)
        assert body["errors"][0]["extensions"]["field"] == field, body
    for who in (world.admin, world.receptionist, world.patient):
        body = await graphql(
            client, PRESCRIBE, _prescription(world, bridge), token=world.token(who)
        )
        assert error_codes(body) == ["FORBIDDEN"], who.role
    count = await superuser.fetchval(
        "select count(*) from exercise_prescriptions where clinic_id = $1", world.clinic_id
    )
    assert count == 2


async def test_prescription_status_changes(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    started = clinic_today() - timedelta(days=10)
    rx = await add_prescription(
        superuser,
        world,
        world.patient_ids[0],
        _physio(world),
        starts_on=started,
        ends_on=clinic_today() + timedelta(days=20),
    )
    gid = to_global_id("ExercisePrescription", rx)
    token = world.token(world.physio)

    async def move(status: str, as_token: str = token) -> dict[str, Any]:
        return await graphql(client, SET_STATUS, {"input": {"id": gid, "status": status}}, as_token)

    assert (await move("PAUSED"))["data"]["setPrescriptionStatus"]["status"] == "PAUSED"
    assert (await move("PAUSED"))["data"]["setPrescriptionStatus"]["status"] == "PAUSED"
    assert (await move("ACTIVE"))["data"]["setPrescriptionStatus"]["status"] == "ACTIVE"
    done = (await move("COMPLETED"))["data"]["setPrescriptionStatus"]
    assert done == {"id": gid, "status": "COMPLETED", "endsOn": clinic_today().isoformat()}
    for status in ("ACTIVE", "PAUSED", "CANCELLED"):
        assert error_codes(await move(status)) == ["INVALID_STATE"], status

    fresh = await add_prescription(superuser, world, world.patient_ids[0], _physio(world))
    fresh_id = to_global_id("ExercisePrescription", fresh)
    for who, code in (
        (world.other_physio, "NOT_FOUND"),  # does not treat the patient: cannot see it
        (world.admin, "FORBIDDEN"),
        (world.receptionist, "FORBIDDEN"),
        (world.patient, "FORBIDDEN"),
    ):
        body = await graphql(
            client,
            SET_STATUS,
            {"input": {"id": fresh_id, "status": "CANCELLED"}},
            world.token(who),
        )
        assert error_codes(body) == [code], who.role
    assert await superuser.fetchval(
        "select status from exercise_prescriptions where id = $1", fresh
    ) == "active"  # fmt: skip


async def test_patient_logs_own_active_prescription_only(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    started = clinic_today() - timedelta(days=7)
    own = await add_prescription(
        superuser, world, world.patient_ids[0], _physio(world), starts_on=started
    )
    paused = await add_prescription(
        superuser, world, world.patient_ids[0], _physio(world), status="paused"
    )
    someone_elses = await add_prescription(superuser, world, world.patient_ids[1], _physio(world))
    token = world.token(world.patient)

    def entry(prescription: uuid.UUID, **extra: Any) -> dict[str, Any]:
        return {
            "input": {
                "prescriptionId": to_global_id("ExercisePrescription", prescription),
                "setsDone": 3,
                **extra,
            }
        }

    when = datetime.now(UTC) - timedelta(hours=3)
    body = await graphql(
        client,
        LOG,
        entry(
            own,
            executedAt=when.isoformat(),
            repetitionsDone=12,
            painLevel=3,
            patientNotes=" Leve desconforto. ",
            sensorData={"source": "app", "rom_degrees": [92, 110, 118]},
        ),
        token=token,
    )
    assert "errors" not in body, body
    logged = body["data"]["logExerciseExecution"]
    assert datetime.fromisoformat(logged["executedAt"]) == when
    assert logged["painLevel"] == 3 and logged["patientNotes"] == "Leve desconforto."
    assert logged["sensorData"] == {"source": "app", "rom_degrees": [92, 110, 118]}
    assert logged["prescription"]["status"] == "ACTIVE"
    now_default = await graphql(client, LOG, entry(own, setsDone=0), token=token)
    assert "errors" not in now_default, now_default

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    before_start = _at_noon(started - timedelta(days=2)).isoformat()
    cases: list[tuple[dict[str, Any], str, str]] = [
        (entry(own, painLevel=11), "BAD_USER_INPUT", "painLevel"),
        (entry(own, painLevel=-1), "BAD_USER_INPUT", "painLevel"),
        (entry(own, setsDone=-1), "BAD_USER_INPUT", "setsDone"),
        (entry(own, repetitionsDone=-5), "BAD_USER_INPUT", "repetitionsDone"),
        (entry(own, executedAt=future), "BAD_USER_INPUT", "executedAt"),
        (entry(own, executedAt="2030-01-01T10:00:00"), "BAD_USER_INPUT", "executedAt"),
        (entry(own, executedAt=before_start), "BAD_USER_INPUT", "executedAt"),
        (entry(own, sensorData="x" * 70_000), "BAD_USER_INPUT", "sensorData"),
        (entry(someone_elses), "NOT_FOUND", "prescriptionId"),
        (entry(uuid.uuid4()), "NOT_FOUND", "prescriptionId"),
        (entry(paused), "INVALID_STATE", "prescriptionId"),
    ]
    for variables, code, field in cases:
        body = await graphql(client, LOG, variables, token=token)
        assert error_codes(body) == [code], (variables, body)
        assert body["errors"][0]["extensions"]["field"] == field, body
    for who in (world.physio, world.admin, world.receptionist):
        body = await graphql(client, LOG, entry(own), token=world.token(who))
        assert error_codes(body) == ["FORBIDDEN"], who.role
    count = await superuser.fetchval(
        "select count(*) from exercise_executions where clinic_id = $1", world.clinic_id
    )
    assert count == 2


async def test_database_refuses_executions_of_inactive_prescriptions(
    superuser: asyncpg.Connection,
) -> None:
    """RLS itself (not only the resolver) keeps a patient to their own ACTIVE prescriptions."""
    world = await make_clinic(superuser)
    patient = world.patient_ids[0]
    active = await add_prescription(superuser, world, patient, _physio(world))
    paused = await add_prescription(superuser, world, patient, _physio(world), status="paused")
    theirs = await add_prescription(superuser, world, world.patient_ids[1], _physio(world))
    outcomes = {}
    for label, prescription in (("active", active), ("paused", paused), ("theirs", theirs)):
        transaction = superuser.transaction()
        await transaction.start()
        try:
            await superuser.execute(
                "select set_config('role', 'fisioflow_app', true),"
                " set_config('app.clinic_id', $1, true), set_config('app.role', 'patient', true),"
                " set_config('app.patient_id', $2, true)",
                str(world.clinic_id),
                str(patient),
            )
            await superuser.execute(
                "insert into exercise_executions (clinic_id, prescription_id, patient_id,"
                " sets_done) values ($1, $2, $3, 1)",
                world.clinic_id,
                prescription,
                patient,
            )
            outcomes[label] = "OK"
        except asyncpg.InsufficientPrivilegeError:
            outcomes[label] = "RLS"
        finally:
            await transaction.rollback()
    assert outcomes == {"active": "OK", "paused": "RLS", "theirs": "RLS"}


async def test_who_sees_prescriptions_and_executions(
    client: httpx.AsyncClient, superuser: asyncpg.Connection
) -> None:
    world = await make_clinic(superuser)
    assert world.other_physio.physiotherapist_id is not None
    anas = await add_prescription(superuser, world, world.patient_ids[0], _physio(world))
    brunos = await add_prescription(
        superuser, world, world.patient_ids[3], world.other_physio.physiotherapist_id
    )
    done = await add_execution(superuser, world, anas, world.patient_ids[0])
    await add_execution(superuser, world, brunos, world.patient_ids[3])
    a, b = (to_global_id("ExercisePrescription", i) for i in (anas, brunos))
    execution = to_global_id("ExerciseExecution", done)

    async def seen(token: str) -> tuple[set[str], set[str], int, set[str]]:
        body = await graphql(client, PRESCRIPTIONS, token=token)
        assert "errors" not in body, body
        top = {e["node"]["id"] for e in body["data"]["prescriptions"]["edges"]}
        nested = {
            rx["node"]["id"]
            for p in body["data"]["patients"]["edges"]
            for rx in p["node"]["prescriptions"]["edges"]
        }
        executions = sum(
            rx["node"]["executions"]["totalCount"]
            for p in body["data"]["patients"]["edges"]
            for rx in p["node"]["prescriptions"]["edges"]
        )
        nodes = await graphql(
            client, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [a, b, execution]},
            token=token,
        )  # fmt: skip
        return top, nested, executions, {n["id"] for n in nodes["data"]["nodes"] if n}

    assert await seen(world.token(world.admin)) == ({a, b}, {a, b}, 2, {a, b, execution})
    assert await seen(world.token(world.receptionist)) == (set(), set(), 0, set())
    assert await seen(world.token(world.physio)) == ({a}, {a}, 1, {a, execution})
    assert await seen(world.token(world.other_physio)) == ({b}, {b}, 1, {b})
    assert await seen(world.token(world.patient)) == ({a}, {a}, 1, {a, execution})

    paused = await graphql(
        client, PRESCRIPTIONS, {"status": "PAUSED"}, token=world.token(world.admin)
    )
    assert paused["data"]["prescriptions"]["totalCount"] == 0
    other = await make_clinic(superuser)
    assert await seen(other.token(other.admin)) == (set(), set(), 0, set())


async def test_adherence(client: httpx.AsyncClient, superuser: asyncpg.Connection) -> None:
    world = await make_clinic(superuser)
    patient, physio, today = world.patient_ids[0], _physio(world), clinic_today()

    async def adherence(prescription: uuid.UUID) -> Any:
        body = await graphql(
            client,
            ADHERENCE,
            {"id": to_global_id("ExercisePrescription", prescription)},
            token=world.token(world.patient),
        )
        assert "errors" not in body, body
        return body["data"]["node"]["adherence"]

    # Two weeks so far (13 days ago .. today), 3 a week: 6 expected, 3 done in the period.
    two_weeks = await add_prescription(
        superuser, world, patient, physio, starts_on=today - timedelta(days=13)
    )
    for days_ago in (12, 8, 1):
        await add_execution(
            superuser, world, two_weeks, patient, _at_noon(today - timedelta(days_ago))
        )
    await add_execution(superuser, world, two_weeks, patient, _at_noon(today - timedelta(20)))
    assert await adherence(two_weeks) == 0.5

    # A finished period: one week (7 days), 2 a week, 1 done within; later ones do not count.
    finished = await add_prescription(
        superuser,
        world,
        patient,
        physio,
        starts_on=today - timedelta(days=20),
        ends_on=today - timedelta(days=14),
        frequency_per_week=2,
        status="completed",
    )
    await add_execution(superuser, world, finished, patient, _at_noon(today - timedelta(days=15)))
    await add_execution(superuser, world, finished, patient, _at_noon(today - timedelta(days=3)))
    assert await adherence(finished) == 0.5

    # More than expected is still 1; nothing expected yet is null.
    eager = await add_prescription(
        superuser, world, patient, physio, starts_on=today - timedelta(days=6), frequency_per_week=1
    )
    for days_ago in range(5):
        await add_execution(superuser, world, eager, patient, _at_noon(today - timedelta(days_ago)))
    assert await adherence(eager) == 1.0
    upcoming = await add_prescription(
        superuser, world, patient, physio, starts_on=today + timedelta(days=2)
    )
    assert await adherence(upcoming) is None
    idle = await add_prescription(superuser, world, patient, physio, starts_on=today - timedelta(6))
    assert await adherence(idle) == 0.0


async def test_nested_prescriptions_cost_the_same_for_5_and_50_patients(
    client: httpx.AsyncClient, superuser: asyncpg.Connection, statements: StatementCounter
) -> None:
    query = """{ patients(first: 50) { edges { node { name
      prescriptions(first: 5) { totalCount edges { node { status adherence
        exercise { name category }
        executions(first: 5) { totalCount edges { node { painLevel executedAt } } }
      } } }
    } } } }"""
    counts: dict[int, int] = {}
    for n in (5, 50):
        world = await make_clinic(superuser, patients_per_physio=n)
        bridge, plank = (
            await library_exercise(superuser),
            await library_exercise(superuser, "Prancha abdominal"),
        )
        for patient in world.patient_ids[:n]:
            for exercise in (bridge, plank):
                rx = await add_prescription(
                    superuser, world, patient, _physio(world), exercise_id=exercise
                )
                await add_execution(superuser, world, rx, patient)
        statements.reset()
        body = await graphql(client, query, token=world.token(world.physio))
        assert "errors" not in body, body
        nested = [
            rx
            for p in body["data"]["patients"]["edges"]
            for rx in p["node"]["prescriptions"]["edges"]
        ]
        assert len(nested) == 2 * n
        assert all(rx["node"]["executions"]["totalCount"] == 1 for rx in nested)
        counts[n] = statements.count
    assert counts[5] == counts[50], statements.statements
    # identity, patients, prescriptions (+count), exercises, executions (+count), adherence
    assert counts[50] <= 8, statements.statements
