"""What every input of every operation must be before a resolver or SQL sees it.

One check over the operation's coerced arguments (variables and inline literals alike, in
queries, mutations and subscriptions, top-level and nested fields, filters included) refuses
with `BAD_USER_INPUT` and the input field's name:

- a NUL character in any string, ID or JSON value (PostgreSQL's text and jsonb cannot hold
  it, so it would surface as a database fault);
- a string longer than its kind allows (`TEXT_LIMITS`, by input field or argument name;
  `DEFAULT_TEXT` for any other String, `ID_TEXT` for IDs);
- a JSON value larger than `JSON_LIMITS` allows, serialized;
- a Date or DateTime outside the years a clinic's records can be about (`YEARS`), so no
  arithmetic on it (a slot's end, a deadline, a time-zone shift) can leave Python's or
  PostgreSQL's range.

A document's literal values are checked once, and where its variables land (input type and
field) noted, per document and operation (cached); a request then only walks its variables'
values. The fast path (graph/http/fast_path.py) runs the same check on its requests' variables.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    is_input_type,
)
from graphql.pyutils import Undefined
from graphql.utilities import type_from_ast, value_from_ast

from graph.core.errors import ApiError, bad_input
from graph.core.lru import LruCache

# Kinds of text and the most characters each may have.
CODE = 100  # codes, check types, keys a system fills in
NAME = 200  # names of people and things, titles, searches, legal bases
EMAIL = 254  # the longest address SMTP carries (RFC 5321)
PHONE = 40  # "+55 (11) 91234-5678 ramal 1234" fits with room to spare
DOCUMENT = 30  # CPF, CNS, CREFITO, formatted
PASSWORD = 256  # hashed with argon2 on every login: a megabyte would burn CPU for nothing
ADDRESS = 500
STEP = 1_000  # one step of an exercise's instructions, one criterion's note
NOTE = 2_000  # notes, reasons, descriptions, resolutions
LETTER = 4_000  # a data subject's request and the clinic's answer
ADDENDUM = 10_000  # a correction to a prontuário
CLINICAL = 20_000  # one section of a prontuário: about ten pages of narrative
URL = 2_000  # what browsers and CDNs reliably carry
CURSOR = 2_000  # a page cursor holds a sort key: a name of up to NAME characters, an id

TEXT_LIMITS: Mapping[str, int] = {
    "checkType": CODE,
    "code": CODE,
    "idempotencyKey": NAME,
    "gatewayTransactionId": NAME,
    "policyVersion": 50,
    "category": 80,
    "name": NAME,
    "specialty": NAME,
    "search": NAME,
    "legalBasis": NAME,
    "purpose": 500,
    "email": EMAIL,
    "phone": PHONE,
    "cpf": DOCUMENT,
    "cns": DOCUMENT,
    "crefito": DOCUMENT,
    "password": PASSWORD,
    "address": ADDRESS,
    "instructions": STEP,
    "note": STEP,
    "notes": NOTE,
    "patientNotes": NOTE,
    "reason": NOTE,
    "description": NOTE,
    "resolution": NOTE,
    "details": LETTER,
    "response": LETTER,
    "text": ADDENDUM,
    "anamnesis": CLINICAL,
    "physicalExam": CLINICAL,
    "diagnosis": CLINICAL,
    "prognosis": CLINICAL,
    "treatmentPlan": CLINICAL,
    "evolution": CLINICAL,
    "videoUrl": URL,
    "imageUrl": URL,
    "after": CURSOR,
    "before": CURSOR,
}
DEFAULT_TEXT = NAME  # any String not named above
ID_TEXT = 200  # a global ID is the base64 of "TypeName:uuid", under 100 characters

# Serialized bytes of JSON inputs: vital signs are a handful of readings; sensor data a
# session's samples.
JSON_LIMITS: Mapping[str, int] = {"vitalSigns": 8_192, "sensorData": 65_536}
DEFAULT_JSON = 8_192

# Dates and timestamps a clinic's records can be about: a birth date, an agenda, a deadline.
YEARS = range(1900, 2200)

_NUL_IN_JSON = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def text_limit(field: str, type_name: str) -> int:
    if type_name == "ID":
        return ID_TEXT
    return TEXT_LIMITS.get(field, DEFAULT_TEXT)


def check_value(value: Any, type_: GraphQLInputType, field: str) -> None:
    """BAD_USER_INPUT naming `field` (the innermost input field) for what the module
    docstring refuses; coerced values, as graphql-core hands them to resolvers."""
    if value is None:
        return
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        for item in value if isinstance(value, list) else [value]:
            check_value(item, type_.of_type, field)
    elif isinstance(type_, GraphQLInputObjectType):
        for name, input_field in type_.fields.items():
            key = input_field.out_name or name
            if key in value:
                check_value(value[key], input_field.type, name)
    elif isinstance(type_, GraphQLScalarType):
        _check_scalar(value, type_, field)


def _check_scalar(value: Any, type_: GraphQLScalarType, field: str) -> None:
    if type_.name == "JSON":
        _check_json(value, field)
    elif isinstance(value, str):
        if "\x00" in value:
            raise bad_input(field, f"{field} must not contain NUL characters")
        limit = text_limit(field, type_.name)
        if len(value) > limit:
            raise bad_input(field, f"{field} may have at most {limit} characters")
    elif isinstance(value, date) and value.year not in YEARS:  # datetime too
        raise bad_input(field, f"{field} must be between {YEARS[0]} and {YEARS[-1]}")


def _check_json(value: Any, field: str) -> None:
    try:
        serialized = orjson.dumps(value)
    except TypeError:  # e.g. an integer beyond 64 bits
        raise bad_input(field, f"{field} is not valid JSON") from None
    limit = JSON_LIMITS.get(field, DEFAULT_JSON)
    if len(serialized) > limit:
        raise bad_input(field, f"{field} may have at most {limit} bytes")
    if _NUL_IN_JSON.search(serialized):
        raise bad_input(field, f"{field} must not contain NUL characters")


@dataclass(frozen=True)
class VariableUse:
    """Where a variable's value lands: the input type there and the field it fills."""

    variable: str
    type: GraphQLInputType
    field: str


@dataclass(frozen=True)
class InputPlan:
    """What the document alone tells about an operation's input: the refusal its literal
    values earn (field, message), if any, and the places its variables fill."""

    refusal: tuple[str, str] | None
    uses: tuple[VariableUse, ...]


def input_plan(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> InputPlan:
    """Walks every field of `operation` given arguments (through fragments, each walked
    once), checking literal values and noting where variables go."""
    walk = _InputWalk(schema, document, operation)
    try:
        walk.selection_set(schema.get_root_type(operation.operation), operation.selection_set)
    except ApiError as refusal:
        return InputPlan((refusal.extensions["field"], str(refusal)), ())
    return InputPlan(None, tuple(walk.uses))


class _InputWalk:
    """One operation's arguments: literals checked (check_value), variables' places noted."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
    ) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.declared = {d.variable.name.value: d for d in operation.variable_definitions or ()}
        self.walked: set[str] = set()
        self.uses: list[VariableUse] = []

    def selection_set(
        self, parent: GraphQLNamedType | None, selection_set: SelectionSetNode | None
    ) -> None:
        if parent is None or selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                self.selection_set(inner, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                self.fragment(selection.name.value)

    def fragment(self, name: str) -> None:
        fragment = self.fragments.get(name)
        if fragment is not None and name not in self.walked:
            self.walked.add(name)
            inner = self.schema.get_type(fragment.type_condition.name.value)
            self.selection_set(inner, fragment.selection_set)

    def field(self, parent: GraphQLNamedType, node: FieldNode) -> None:
        fields: Mapping[str, GraphQLField] = getattr(parent, "fields", {})
        definition = fields.get(node.name.value)
        if definition is None:  # __typename and introspection take no hostile input
            return
        for argument in node.arguments or ():
            argument_definition = definition.args.get(argument.name.value)
            if argument_definition is not None:
                self.value(argument.value, argument_definition.type, argument.name.value)
        self.selection_set(_named(definition.type), node.selection_set)

    def value(self, node: ValueNode, type_: GraphQLInputType, field: str) -> None:
        nullable = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if isinstance(node, VariableNode):
            self.uses.append(VariableUse(node.name.value, type_, field))
        elif isinstance(node, ListValueNode) and isinstance(nullable, GraphQLList):
            for item in node.values:
                self.value(item, nullable.of_type, field)
        elif isinstance(node, ObjectValueNode) and isinstance(nullable, GraphQLInputObjectType):
            for given in node.fields:
                input_field = nullable.fields.get(given.name.value)
                if input_field is not None:
                    self.value(given.value, input_field.type, given.name.value)
        else:
            self.literal(node, type_, field)

    def literal(self, node: ValueNode, type_: GraphQLInputType, field: str) -> None:
        """A literal leaf, or a JSON literal (which may hold variables)."""
        for inner in _variables_in(node):
            definition = self.declared.get(inner.name.value)
            variable_type = type_from_ast(self.schema, definition.type) if definition else None
            if is_input_type(variable_type):
                self.uses.append(VariableUse(inner.name.value, variable_type, field))
        literal = value_from_ast(node, type_)
        if literal is not Undefined:  # invalid literals: validation reports them
            check_value(literal, type_, field)


def _variables_in(node: ValueNode) -> Iterator[VariableNode]:
    if isinstance(node, VariableNode):
        yield node
    elif isinstance(node, ListValueNode):
        for item in node.values:
            yield from _variables_in(item)
    elif isinstance(node, ObjectValueNode):
        for given in node.fields:
            yield from _variables_in(given.value)


def _named(type_: Any) -> GraphQLNamedType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    named: GraphQLNamedType = type_
    return named


_plans: LruCache[InputPlan] = LruCache()


def check_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> None:
    """BAD_USER_INPUT for the first argument value the module docstring refuses. The
    document's literals are checked once (the plan is cached by its text); the variables,
    coerced, at each call."""
    name = operation.name.value if operation.name else None
    key = (document.loc.source.body, name) if document.loc else None
    known, plan = _plans.get(key) if key else (False, None)
    if not known or plan is None:
        plan = input_plan(schema, document, operation)
        if key:
            _plans.put(key, plan)
    if plan.refusal is not None:
        raise bad_input(*plan.refusal)
    for use in plan.uses:
        check_value(variables.get(use.variable), use.type, use.field)
