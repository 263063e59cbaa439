"""Limits on what one GraphQL document may ask for, each answered with `QUERY_TOO_COMPLEX`.

- tokens: the parser stops after `max_tokens` tokens (comments included);
- depth: nesting of fields, through fragments, introspection excluded;
- aliases: counted through fragment spreads, each spread counting its fragment's aliases
  again (a fragment with 10 aliases spread 10 times is 100 aliases: GHSA-fr49-mhgj-crfc);
- cost: objects a query may return, multiplying list sizes by nesting (`first` x children);
  it needs the variables, so it is checked when execution starts, not during validation.

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
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from graph.core.documents import operations, selected_operation
from graph.core.errors import BAD_USER_INPUT, QUERY_TOO_COMPLEX, VALIDATION_FAILED
from graph.core.settings import Settings
from graph.sql.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

# A list field without a page size (`consents`, `payments` of an appointment, `nodes(ids:)`
# with a variable) is assumed to return this many items.
ASSUMED_LIST_SIZE = 10

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
    values = dict(_variable_defaults(operation))
    values.update(variables or {})
    fragments = _fragments(document)
    memo: dict[str, int] = {}

    def selection_set(
        selections: SelectionSetNode | None, parent: Any, in_connection: bool, seen: frozenset[str]
    ) -> int:
        total = 0
        if selections is None:
            return total
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += field(selection, parent, in_connection, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = schema.get_type(condition.name.value) if condition else parent
                total += selection_set(selection.selection_set, inner, _is_connection(inner), seen)
            elif isinstance(selection, FragmentSpreadNode):
                total += fragment(selection.name.value, seen)
        return total

    def fragment(name: str, seen: frozenset[str]) -> int:
        if name in memo:
            return memo[name]
        definition = fragments.get(name)
        if definition is None or name in seen:
            return 0
        inner = schema.get_type(definition.type_condition.name.value)
        memo[name] = selection_set(
            definition.selection_set, inner, _is_connection(inner), seen | {name}
        )
        return memo[name]

    def field(node: FieldNode, parent: Any, in_connection: bool, seen: frozenset[str]) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        definition: GraphQLField | None = parent.fields.get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        children = selection_set(node.selection_set, named, _is_connection(named), seen)
        if _is_connection(named):
            size = _int_argument(node, ("first", "last"), values)
            size = DEFAULT_PAGE_SIZE if size is None else min(max(size, 0), MAX_PAGE_SIZE)
            return 1 + size * children
        if is_list_type(get_nullable_type(definition.type)):
            if in_connection:  # `edges` of a connection: the connection counted its size
                return 1 + children
            ids = next((a for a in node.arguments or () if a.name.value == "ids"), None)
            items = _value(ids.value, values) if ids is not None else None
            size = len(items) if isinstance(items, list) else ASSUMED_LIST_SIZE
            return size * (1 + children)
        return 1 + children

    return selection_set(operation.selection_set, root, False, frozenset())


def _variable_defaults(operation: OperationDefinitionNode) -> Iterator[tuple[str, Any]]:
    for definition in operation.variable_definitions or ():
        if definition.default_value is not None:
            yield definition.variable.name.value, _value(definition.default_value, {})


_defaults: Settings | None = None


def request_settings(context: Any) -> Settings:
    """The settings of the request's app; defaults when the schema runs without one."""
    global _defaults
    settings = getattr(context, "settings", None)
    if isinstance(settings, Settings):
        return settings
    if _defaults is None:
        _defaults = Settings()
    return _defaults


def _is_parser_limit(error: GraphQLError) -> bool:
    return isinstance(error, GraphQLSyntaxError) and "Parsing aborted" in error.message


def _without_suggestions(error: GraphQLError) -> GraphQLError:
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


class RequestLimits(SchemaExtension):
    """Tokens, depth, aliases and cost limits; introspection and suggestions switches."""

    def on_operation(self) -> Iterator[None]:
        execution = self.execution_context
        settings = request_settings(execution.context)
        # graphql-core's `max_tokens` counts comments too: one bound on what the parser reads.
        execution.parse_options["max_tokens"] = settings.max_tokens
        execution.validation_rules = execution.validation_rules + validation_rules(
            settings.max_depth, settings.max_aliases, settings.enabled("introspection")
        )
        try:
            yield
        except GraphQLSyntaxError as syntax_error:
            # ParserCache parses in its `on_parse` hook, so a syntax error leaves the operation
            # as an exception (Strawberry answers it as the request's only error): give it a code.
            if _is_parser_limit(syntax_error):
                raise too_complex(
                    f"The document is too large (the limit is {settings.max_tokens} tokens)"
                ) from None
            if not (syntax_error.extensions or {}).get("code"):
                syntax_error.extensions = {
                    **(syntax_error.extensions or {}),
                    "code": VALIDATION_FAILED,
                }
            raise
        result = execution.result
        if result is None or not result.errors:
            return
        errors: list[GraphQLError] = []
        for error in result.errors:
            shown = error
            if _is_parser_limit(shown):
                shown = too_complex(
                    f"The document is too large (the limit is {settings.max_tokens} tokens)"
                )
            if not settings.enabled("suggestions"):
                shown = _without_suggestions(shown)
            errors.append(shown)
        result.errors = errors

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        # Strawberry runs the first operation when a document has several and the request
        # names none; the GraphQL spec asks for a request error.
        provided = getattr(execution, "_provided_operation_name", execution.operation_name)
        if document is not None and provided is None and len(operations(document)) > 1:
            raise GraphQLError(
                "Must provide operationName: the document holds several operations",
                extensions={"code": BAD_USER_INPUT, "field": "operationName"},
            )
        operation = selected_operation(document, execution.operation_name) if document else None
        if operation is not None:
            settings = request_settings(execution.context)
            cost = query_cost(
                execution.schema._schema, document, operation, execution.variables or {}
            )
            if cost > settings.max_cost:
                raise too_complex(
                    f"The query could return about {cost} objects; the limit is"
                    f" {settings.max_cost}. Ask for smaller pages (`first`) or fewer nested lists."
                )
        yield
