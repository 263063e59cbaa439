"""Limits on what one GraphQL document may ask for, each answered with `QUERY_TOO_COMPLEX`.

- tokens: the parser stops after `max_tokens` tokens (comments included);
- depth: nesting of fields, through fragments, introspection excluded;
- aliases: counted through fragment spreads, each spread counting its fragment's aliases
  again (a fragment with 10 aliases spread 10 times is 100 aliases: GHSA-fr49-mhgj-crfc);
- cost: objects a query may return, multiplying list sizes by nesting (`first` x children),
  plus the rows a statement must read beyond its page: an aggregate reads every row it
  summarizes (charged like a full page, again per group key), and a `where` or `orderBy` on a
  column no index serves (models/indexes.py) reads the whole list (a full page each); it
  needs the variables, so it is checked when execution starts, not during validation.

Fragment counts are memoized, so a document of fragments spreading fragments is measured in
time linear in its size, however large the numbers it describes.

Production switches live here too: introspection off (a validation rule) and "Did you
mean ...?" suggestions removed from error messages.

The limits come from the request's settings (`info.context.settings`), so two apps in one
process may differ. Validation rules are made once per limit value: `ValidationCache` keys
on the rule classes, and a fresh class per request would defeat it.
"""

import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule

from graph.core.documents import operations
from graph.core.errors import QUERY_TOO_COMPLEX
from graph.sql.aggregates import MAX_GROUPS
from graph.sql.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from models.declarations import DECLARATIONS
from models.indexes import indexed_columns
from models.list_arguments import RelationFilter, order_fields, where_fields

# A list field without a page size (`consents`, `payments` of an appointment, `nodes(ids:)`
# with a variable) is assumed to return this many items.
ASSUMED_LIST_SIZE = 10
# What reading every row of a list costs (an aggregate's scan, a filter or order no index
# serves): as much as a full page.
FULL_SCAN = MAX_PAGE_SIZE

SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def too_complex(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": QUERY_TOO_COMPLEX})


def _fragments(document: Any) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


class _Measure:
    """Folds a selection set over fragments, each fragment measured once (memoized)."""

    def __init__(
        self,
        fragments: Mapping[str, FragmentDefinitionNode],
        field_value: Callable[[FieldNode, "_Measure"], int],
        combine: Callable[[int, int], int],
    ) -> None:
        self.fragments = fragments
        self.field_value = field_value
        self.combine = combine
        self.memo: dict[str, int] = {}
        self.visiting: set[str] = set()

    def selection_set(self, selection_set: SelectionSetNode | None) -> int:
        total = 0
        if selection_set is None:
            return total
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                value = self.field_value(selection, self)
            elif isinstance(selection, InlineFragmentNode):
                value = self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                value = self.fragment(selection.name.value)
            else:  # pragma: no cover - no other selection kinds exist
                continue
            total = self.combine(total, value)
        return total

    def fragment(self, name: str) -> int:
        if name in self.memo:
            return self.memo[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.visiting:  # unknown or cyclic: other rules report
            return 0
        self.visiting.add(name)
        value = self.selection_set(fragment.selection_set)
        self.visiting.discard(name)
        self.memo[name] = value
        return value


def count_aliases(document: Any) -> int:
    """Aliases the document's operations would execute, through every fragment spread."""

    def field(node: FieldNode, measure: _Measure) -> int:
        return (1 if node.alias else 0) + measure.selection_set(node.selection_set)

    measure = _Measure(_fragments(document), field, lambda a, b: a + b)
    return sum(measure.selection_set(op.selection_set) for op in operations(document))


def max_depth(document: Any) -> int:
    """The deepest field nesting of any operation (`{ me { email } }` is 1), introspection
    fields excluded."""

    def field(node: FieldNode, measure: _Measure) -> int:
        if node.name.value.startswith("__") or node.selection_set is None:
            return 0
        return 1 + measure.selection_set(node.selection_set)

    measure = _Measure(_fragments(document), field, max)
    return max((measure.selection_set(op.selection_set) for op in operations(document)), default=0)


@cache
def depth_rule(limit: int) -> type[ASTValidationRule]:
    class MaxDepth(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            depth = max_depth(context.document)
            if depth > limit:
                context.report_error(
                    too_complex(f"The query is nested {depth} levels deep; the limit is {limit}")
                )

    return MaxDepth


@cache
def alias_rule(limit: int) -> type[ASTValidationRule]:
    class MaxAliases(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            aliases = count_aliases(context.document)
            if aliases > limit:
                context.report_error(
                    too_complex(f"The query uses {aliases} aliases; the limit is {limit}")
                )

    return MaxAliases


@cache
def validation_rules(depth: int, aliases: int, introspection: bool) -> tuple[type[Any], ...]:
    rules: tuple[type[Any], ...] = (depth_rule(depth), alias_rule(aliases))
    return rules if introspection else (*rules, NoSchemaIntrospectionCustomRule)


def _is_connection(type_: Any) -> bool:
    return (
        isinstance(type_, GraphQLObjectType)
        and type_.name.endswith("Connection")
        and "edges" in type_.fields
    )


def _int_argument(
    node: FieldNode, names: tuple[str, ...], variables: Mapping[str, Any]
) -> int | None:
    for argument in node.arguments or ():
        if argument.name.value not in names:
            continue
        value: Any = _value(argument.value, variables)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _value(node: ValueNode, variables: Mapping[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, ListValueNode):
        return [_value(v, variables) for v in node.values]
    return None


def query_cost(
    schema: GraphQLSchema,
    document: Any,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> int:
    """An upper bound of the objects the operation may return: every object or list item
    costs 1, and a list multiplies what is below it by its size (`first`/`last` of a
    connection, else 20 per page; `ids` of `nodes`; else 10). Scalars and introspection
    cost nothing."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    cost = _Cost(schema, document, {**dict(_variable_defaults(operation)), **(variables or {})})
    return cost.selection_set(operation.selection_set, root, frozenset())


class _Cost:
    """The cost fold of one operation, each fragment measured once (memoized)."""

    def __init__(self, schema: GraphQLSchema, document: Any, values: Mapping[str, Any]) -> None:
        self.schema = schema
        self.fragments = _fragments(document)
        self.values = values
        self.memo: dict[str, int] = {}

    def selection_set(
        self, selections: SelectionSetNode | None, parent: Any, seen: frozenset[str]
    ) -> int:
        if selections is None:
            return 0
        return sum(self.selection(selection, parent, seen) for selection in selections.selections)

    def selection(self, selection: Any, parent: Any, seen: frozenset[str]) -> int:
        if isinstance(selection, FieldNode):
            return self.field(selection, parent, seen)
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            inner = self.schema.get_type(condition.name.value) if condition else parent
            return self.selection_set(selection.selection_set, inner, seen)
        if isinstance(selection, FragmentSpreadNode):
            return self.fragment(selection.name.value, seen)
        return 0

    def fragment(self, name: str, seen: frozenset[str]) -> int:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in seen:  # unknown or cyclic: validation reports it
            return 0
        inner = self.schema.get_type(definition.type_condition.name.value)
        self.memo[name] = self.selection_set(definition.selection_set, inner, seen | {name})
        return self.memo[name]

    def field(self, node: FieldNode, parent: Any, seen: frozenset[str]) -> int:
        definition = _object_field(parent, node)
        named = get_named_type(definition.type) if definition is not None else None
        if definition is None or named is None or is_leaf_type(named):
            return 0
        children = self.selection_set(node.selection_set, named, seen)
        scans = self.unindexed_scans(node, named) * FULL_SCAN
        if _is_connection(named):
            return 1 + self.page_size(node) * children + scans
        if _is_aggregate(named):
            keys = self.argument(node, "groupBy")
            grouped = len(keys) if isinstance(keys, list) else 0
            return 1 + FULL_SCAN * (1 + grouped) + children + scans
        # `edges` of a connection: the connection counted its size.
        if is_list_type(get_nullable_type(definition.type)) and not _is_connection(parent):
            return self.list_size(node, definition) * (1 + children)
        return 1 + children

    def page_size(self, node: FieldNode) -> int:
        size = _int_argument(node, ("first", "last"), self.values)
        return DEFAULT_PAGE_SIZE if size is None else min(max(size, 0), MAX_PAGE_SIZE)

    def list_size(self, node: FieldNode, definition: GraphQLField) -> int:
        ids = next((a for a in node.arguments or () if a.name.value == "ids"), None)
        items = _value(ids.value, self.values) if ids is not None else None
        if isinstance(items, list):
            return len(items)
        first = definition.args.get("first")
        if first is not None:  # a plain list with a size (an aggregate's `groups`)
            size = _int_argument(node, ("first",), self.values)
            size = first.default_value if size is None else size
            return min(max(size, 0), MAX_GROUPS) if isinstance(size, int) else MAX_GROUPS
        return ASSUMED_LIST_SIZE

    def argument(self, node: FieldNode, name: str) -> Any:
        """An argument's value (variables substituted), None when not given."""
        given = next((a for a in node.arguments or () if a.name.value == name), None)
        return None if given is None else value_from_ast_untyped(given.value, dict(self.values))

    def unindexed_scans(self, node: FieldNode, named: Any) -> int:
        """How many columns no index serves the field's `where` and `orderBy` name."""
        type_name = _list_type(named)
        if type_name is None:
            return 0
        columns = _where_columns(type_name, self.argument(node, "where"))
        orders = order_fields(DECLARATIONS[type_name])
        for value in self.argument(node, "orderBy") or ():
            if isinstance(value, str):
                order = orders.get(value.removesuffix("_ASC").removesuffix("_DESC"))
                if order is not None:
                    columns.add((DECLARATIONS[type_name].table.name, order.column))
        return sum(1 for table, column in columns if column not in indexed_columns(table))


def _list_type(named: Any) -> str | None:
    """The declared type a connection or aggregate lists."""
    if not isinstance(named, GraphQLObjectType):
        return None
    for suffix in ("Connection", "Aggregate"):
        type_name = named.name.removesuffix(suffix)
        if type_name != named.name and type_name in DECLARATIONS:
            return type_name
    return None


def _is_aggregate(type_: Any) -> bool:
    return (
        isinstance(type_, GraphQLObjectType)
        and type_.name.endswith("Aggregate")
        and "groups" in type_.fields
    )


def _where_columns(type_name: str, where: Any) -> set[tuple[str, str]]:
    """The (table, column) pairs a `<Type>Where` value compares, through relations and
    `and`/`or`/`not` (iteratively: the value may nest deeply)."""
    columns: set[tuple[str, str]] = set()
    pending: list[tuple[str, Any]] = [(type_name, where)]
    while pending:
        current, value = pending.pop()
        if not isinstance(value, Mapping):
            continue
        declared = DECLARATIONS[current]
        fields = where_fields(declared)
        for name, given in value.items():
            field = fields.get(name)
            if name in ("and", "or") and isinstance(given, list):
                pending.extend((current, item) for item in given)
            elif name == "not":
                pending.append((current, given))
            elif isinstance(field, RelationFilter):  # joined on the target's id: indexed
                pending.append((field.relation.target, given))
            elif field is not None and given is not None:
                columns.add((declared.table.name, field.column))
    return columns


def _object_field(parent: Any, node: FieldNode) -> GraphQLField | None:
    """The selected field's definition; None for introspection fields (they cost nothing)."""
    name = node.name.value
    if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return None
    field: GraphQLField | None = parent.fields.get(name)
    return field


def _variable_defaults(operation: OperationDefinitionNode) -> Iterator[tuple[str, Any]]:
    for definition in operation.variable_definitions or ():
        if definition.default_value is not None:
            yield definition.variable.name.value, _value(definition.default_value, {})


def is_parser_limit(error: GraphQLError) -> bool:
    return isinstance(error, GraphQLSyntaxError) and "Parsing aborted" in error.message


def without_suggestions(error: GraphQLError) -> GraphQLError:
    """The error without "Did you mean ...?" (production: no hints at the schema's names)."""
    message = SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    # Cached validation errors are shared between requests: answer with a copy.
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )
