"""Every Strawberry type read from rows and its declaration (models/declarations.py) agree:
each declared field exists with a compatible GraphQL type, each field of the type is declared
(or declared `ResolverOnly`), the builder can fill every constructor field, and the objects
it builds from real rows carry their rows' columns and ids."""

import enum
import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
)
from sqlalchemy import Column, Integer, MetaData, Table, Text, Uuid
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from graph.api.builders import DeclarationMismatch, from_row, row_builder
from graph.api.declared_fields import UnwrittenEnum, declared_fields
from graph.core.ids import parse_global_id, to_global_id
from graph.schema import schema
from models.declarations import DECLARATIONS
from models.type_map import (
    Children,
    Computed,
    FieldMap,
    ForeignId,
    GlobalId,
    MinutesBetween,
    RecordId,
    ResolverOnly,
    Scalar,
    ToOne,
    TypeMap,
)
from tests.support.factories import (
    add_appointment,
    add_execution,
    add_payment,
    add_prescription,
    add_prontuario,
    add_vital_signs,
    make_clinic,
)

SCALAR_NAMES = {
    "text": "String",
    "int": "Int",
    "bool": "Boolean",
    "uuid": "UUID",
    "date": "Date",
    "datetime": "DateTime",
    "decimal": "Decimal",
    "json": "JSON",
}


def _object_type(name: str) -> GraphQLObjectType:
    found = schema._schema.get_type(name)
    assert isinstance(found, GraphQLObjectType), f"{name} is not an object type of the schema"
    return found


def _shown(graphql_type: GraphQLOutputType) -> str:
    """A GraphQL type as SDL writes it: `[String!]!`."""
    if isinstance(graphql_type, GraphQLNonNull):
        return _shown(graphql_type.of_type) + "!"
    if isinstance(graphql_type, GraphQLList):
        return "[" + _shown(graphql_type.of_type) + "]"
    return str(getattr(graphql_type, "name", graphql_type))


def _expected(declared: TypeMap, field: FieldMap) -> str | None:
    """The GraphQL type a declared field must have (None: any, it is the resolver's)."""
    if isinstance(field, Scalar):
        column = declared.table.c[field.name]
        suffix = "" if column.nullable or field.lenient else "!"
        if field.kind == "text_list":
            return "[String!]!"
        if field.kind == "enum":
            return "enum" + suffix
        return SCALAR_NAMES[field.kind] + suffix
    if isinstance(field, GlobalId):
        return "ID!"
    if isinstance(field, ForeignId | RecordId):
        return "ID"
    if isinstance(field, Computed):
        return "Int!" if isinstance(field.value, MinutesBetween) else "Boolean!"
    if isinstance(field, ToOne):
        return field.target + ("" if field.nullable else "!")
    if isinstance(field, Children):
        return f"{field.target}Connection!" if field.connection else f"[{field.target}!]!"
    return None


@pytest.mark.parametrize("name", sorted(DECLARATIONS))
def test_the_type_and_its_declaration_agree(name: str) -> None:
    _assert_agree(DECLARATIONS[name], _object_type(name))


def _assert_agree(declared: TypeMap, graphql_type: GraphQLObjectType) -> None:
    name = declared.name
    undeclared = set(graphql_type.fields) - set(declared.fields) - {"__typename"}
    assert not undeclared, f"{name}: fields neither declared nor marked ResolverOnly"
    for field_name, field in declared.fields.items():
        assert field_name in graphql_type.fields, f"{name}.{field_name} is declared only"
        actual = graphql_type.fields[field_name].type
        expected = _expected(declared, field)
        shown = _shown(actual)
        if expected is None:
            assert isinstance(field, ResolverOnly)
        elif expected.startswith("enum"):
            inner = actual.of_type if isinstance(actual, GraphQLNonNull) else actual
            assert isinstance(inner, GraphQLEnumType), f"{name}.{field_name}: {shown}"
            assert shown.endswith("!") == expected.endswith("!"), f"{name}.{field_name}: {shown}"
        else:
            assert shown == expected, f"{name}.{field_name}: {shown}, declared {expected}"
        if isinstance(field, Scalar) and field.kind in SCALAR_NAMES:
            assert not isinstance(actual, GraphQLEnumType | GraphQLObjectType)
            inner = actual.of_type if isinstance(actual, GraphQLNonNull) else actual
            assert isinstance(inner, GraphQLScalarType)


def test_declarations_name_real_columns_relations_and_filters() -> None:
    for declared in DECLARATIONS.values():
        columns = declared.table.c
        for field in declared.fields.values():
            if isinstance(field, Scalar):
                assert field.name in columns, (declared.name, field.name)
            if isinstance(field, ToOne):
                assert field.foreign_key in columns and field.target in DECLARATIONS
            if isinstance(field, Children):
                target = DECLARATIONS[field.target]
                assert field.parent_key in target.table.c and target.sort, field
        for part in declared.sort:
            assert not isinstance(part, str) or part in columns, (declared.name, part)
        if declared.root_list is not None:
            query = _object_type("Query").fields[declared.root_list]
            assert _shown(query.type) == f"{declared.name}Connection!", declared.root_list
            assert declared.sort, declared.name


def _strawberry_classes() -> dict[str, type[Any]]:
    classes: dict[str, type[Any]] = {}
    for name in DECLARATIONS:
        definition = schema.get_type_by_name(name)
        assert definition is not None, name
        classes[name] = definition.origin  # type: ignore[union-attr]  # an object type
    return classes


def test_a_builder_is_made_for_every_declared_type() -> None:
    for cls in _strawberry_classes().values():
        row_builder(cls)


def test_a_field_without_a_declaration_is_refused() -> None:
    @strawberry.type(name="Patient")
    class Drifted:
        id: strawberry.ID
        nickname: str

    with pytest.raises(DeclarationMismatch, match=r"Patient\.nickname"):
        row_builder(Drifted)


async def _fill_every_table(conn: asyncpg.Connection) -> None:
    world = await make_clinic(conn)
    physio = world.physio.physiotherapist_id
    assert physio is not None
    patient = world.patient_ids[0]
    when = datetime.now(UTC) - timedelta(days=2)
    appointment = await add_appointment(conn, world, patient, physio, when, 50)
    series = await conn.fetchval(
        "insert into appointment_series (clinic_id, patient_id, physiotherapist_id,"
        " first_starts_at, duration_minutes, type, iso_weekdays, count, skipped_starts,"
        " created_by) values ($1, $2, $3, $4, 50, 'session', '{1,3}', 4, array[$4]::timestamptz[],"
        " $5) returning id",
        world.clinic_id,
        patient,
        physio,
        when,
        world.admin.user_id,
    )
    await conn.execute("update appointments set series_id = $1 where id = $2", series, appointment)
    await add_payment(conn, world, patient, "120.50", appointment_id=appointment)
    await add_prontuario(conn, world, patient, physio, appointment_id=appointment, addendum="Ok")
    prescription = await add_prescription(conn, world, patient, physio)
    await add_execution(conn, world, prescription, patient)
    await add_vital_signs(conn, world, patient, physio, when)
    await conn.execute(
        "insert into consents (clinic_id, patient_id, purpose, legal_basis, policy_version)"
        " values ($1, $2, 'tratamento', 'art. 11', 'v1')",
        world.clinic_id,
        patient,
    )
    await conn.execute(
        "insert into data_subject_requests (clinic_id, patient_id, kind) values ($1, $2, 'access')",
        world.clinic_id,
        patient,
    )
    check = await conn.fetchval(
        "insert into compliance_checks (clinic_id, framework, check_type, state, severity,"
        " score, next_check, description) values ($1, 'wcag', 'contrast', 'non_compliant',"
        " 'high', 40, now() + interval '30 days', 'Contraste') returning id",
        world.clinic_id,
    )
    await conn.execute(
        "insert into compliance_issues (clinic_id, check_id, framework, requirement,"
        " description, severity) values ($1, $2, 'wcag', '1.4.3', 'Contraste baixo', 'high')",
        world.clinic_id,
        check,
    )


def _shown_value(value: Any) -> Any:
    """What a built attribute says of its column's value."""
    if isinstance(value, enum.Enum):
        return value.value
    return value


async def test_objects_built_from_real_rows_carry_their_columns(
    superuser: asyncpg.Connection,
) -> None:
    await superuser.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )
    await _fill_every_table(superuser)
    for name, cls in _strawberry_classes().items():
        declared = DECLARATIONS[name]
        rows = await superuser.fetch(
            f"select * from {declared.table.name} order by random() limit 50"
        )
        assert rows, f"no {declared.table.name} rows to build from"
        public = {f.python_name: f for f in get_object_definition(cls, strict=True).fields}
        for record in map(dict, rows):
            built = from_row(cls, record)
            assert parse_global_id(built.id) == (name, str(record["id"]))
            for attribute, field in public.items():
                scalar = declared.fields.get(field.graphql_name or to_camel_case(attribute))
                if isinstance(scalar, Scalar) and hasattr(built, attribute):
                    expected = record[scalar.name]
                    if scalar.kind == "text_list":
                        expected = list(expected or ())
                    shown = _shown_value(getattr(built, attribute))
                    assert shown == expected or (scalar.lenient and shown is None), (
                        name,
                        attribute,
                    )
            if hasattr(built, "db_id"):
                assert built.db_id == record["id"]
            for relation, to_one in declared.relations().items():
                private = relation_attribute(relation)
                if hasattr(built, private):
                    assert getattr(built, private) == record[to_one.foreign_key]


def relation_attribute(relation: str) -> str:
    """`physiotherapist` → `physiotherapist_db_id`."""
    return "".join("_" + c.lower() if c.isupper() else c for c in relation) + "_db_id"


def test_every_column_is_a_field_or_hidden() -> None:
    for declared in DECLARATIONS.values():
        used = {
            column
            for field in declared.fields.values()
            for column in (
                (field.name,)
                if isinstance(field, Scalar)
                else ("id",)
                if isinstance(field, GlobalId)
                else (field.foreign_key,)
                if isinstance(field, ToOne)
                else (field.column,)
                if isinstance(field, ForeignId | RecordId)
                else ()
            )
        }
        for column in declared.table.c:
            assert (column.name in used) != (column.name in declared.hidden), (
                declared.name,
                column.name,
            )


def _throwaway_table() -> Table:
    return Table(
        "throwaway",
        MetaData(),
        Column("id", Uuid, primary_key=True),
        Column("clinic_id", Uuid, nullable=False),
        Column("name", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("preferred_name", Text),
        Column("visits", Integer, nullable=False),
    )


def _throwaway_declaration(name: str = "Throwaway") -> TypeMap:
    """`name` over the throwaway table: a global ID, one enum, clinic_id hidden."""
    return TypeMap(
        name,
        _throwaway_table(),
        {"id": GlobalId(name), "state": Scalar("status", "enum")},
        hidden=("clinic_id",),
    )


def test_a_column_of_the_table_is_a_scalar_field_in_its_place() -> None:
    declared = _throwaway_declaration()
    assert list(declared.fields) == ["id", "name", "state", "preferredName", "visits"]
    assert declared.fields["preferredName"] == Scalar("preferred_name", "text")
    assert declared.fields["visits"] == Scalar("visits", "int")


def test_hiding_a_column_that_is_used_or_missing_is_refused() -> None:
    with pytest.raises(ValueError, match="both uses and hides"):
        TypeMap("Throwaway", _throwaway_table(), {"id": GlobalId("Throwaway")}, hidden=("id",))
    with pytest.raises(ValueError, match="no such columns"):
        TypeMap("Throwaway", _throwaway_table(), {}, hidden=("nickname",))


@strawberry.enum
class ThrowawayState(enum.Enum):
    ACTIVE = "active"
    GONE = "gone"


def _throwaway_schema(declared: TypeMap, monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    """A Strawberry type `Throwaway` of `declared`, with its declared fields generated."""
    monkeypatch.setitem(DECLARATIONS, "Throwaway", declared)

    @strawberry.type
    @declared_fields
    class Throwaway:
        state: ThrowawayState

    return Throwaway


def _schema_of(cls: type[Any], value: Callable[[], Any]) -> strawberry.Schema:
    """A schema whose Query.throwaway is `value()`, a `cls`."""

    @strawberry.type
    class Query:
        throwaway: Any = strawberry.field(resolver=value, graphql_type=cls)

    return strawberry.Schema(query=Query)


def test_a_new_column_is_a_field_of_its_type_built_from_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declared = _throwaway_declaration()
    throwaway = _throwaway_schema(declared, monkeypatch)
    row_id = uuid.uuid4()
    row = {
        "id": row_id,
        "clinic_id": uuid.uuid4(),
        "name": "Ana",
        "status": "gone",
        "preferred_name": "Aninha",
        "visits": 3,
    }

    built = _schema_of(throwaway, lambda: from_row(throwaway, row))
    graphql_type = built._schema.get_type("Throwaway")
    assert isinstance(graphql_type, GraphQLObjectType)
    shown = {name: _shown(field.type) for name, field in graphql_type.fields.items()}
    assert shown == {
        "id": "ID!",
        "name": "String!",
        "state": "ThrowawayState!",
        "preferredName": "String",
        "visits": "Int!",
    }
    assert list(shown) == list(declared.fields)
    _assert_agree(declared, graphql_type)
    result = built.execute_sync("{ throwaway { id name state preferredName visits } }")
    assert result.errors is None
    assert result.data == {
        "throwaway": {
            "id": to_global_id("Throwaway", row_id),
            "name": "Ana",
            "state": "GONE",
            "preferredName": "Aninha",
            "visits": 3,
        }
    }


def test_a_declared_field_the_type_lacks_is_a_disagreement(monkeypatch: pytest.MonkeyPatch) -> None:
    declared = _throwaway_declaration()
    throwaway = _throwaway_schema(declared, monkeypatch)
    widened = replace(declared, fields={**declared.fields, "nickname": Scalar("preferred_name")})

    graphql_type = _schema_of(throwaway, lambda: None)._schema.get_type("Throwaway")
    assert isinstance(graphql_type, GraphQLObjectType)
    with pytest.raises(AssertionError, match=r"Throwaway\.nickname is declared only"):
        _assert_agree(widened, graphql_type)


def test_an_enum_the_type_does_not_write_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    declared = _throwaway_declaration("Unwritten")
    monkeypatch.setitem(DECLARATIONS, "Unwritten", declared)

    class Unwritten:
        pass

    with pytest.raises(UnwrittenEnum, match=r"Unwritten\.state"):
        declared_fields(Unwritten)


def test_a_type_without_a_declaration_is_refused() -> None:
    class Undeclared:
        name: str

    with pytest.raises(DeclarationMismatch, match="Undeclared has no declaration"):
        declared_fields(Undeclared)
