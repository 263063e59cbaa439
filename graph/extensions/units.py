"""Each root mutation field is its own unit of work: a response never claims what the database
does not hold.

GraphQL runs a mutation's root fields one after another, each with its payload's nested
fields resolved before the next starts. Around each root field's resolver this ends the
transaction the previous field's payload reads left open, then:

- the resolver returns: its transaction is committed at once, before the payload's nested
  fields are read (in a fresh transaction under the same identity). An error in a nested read
  cannot undo the write the payload reports;
- the resolver raises (or the commit is refused): its transaction is rolled back and the field
  answers `null` with its error. Earlier root fields stay committed.

A login (`Context.switch_identity`) commits and moves to a scope of the new identity itself;
the payload is then read as the new user. A compiled `scheduleAppointment` on the fast path
(graph/http/fast_path.py) is one statement in a transaction of its own and commits with it.
"""

from typing import Any

from strawberry.extensions.field_extension import AsyncExtensionResolver, FieldExtension
from strawberry.types.base import get_object_definition

from graph.api.context import Info


class OwnTransaction(FieldExtension):
    """A root mutation field's writes commit as soon as its resolver returns."""

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        await info.context.db.end_transaction(commit=True)  # the previous payload's reads
        try:
            result = await next_(source, info, **kwargs)
        except BaseException:
            await info.context.db.end_transaction(commit=False)
            raise
        await info.context.db.end_transaction(commit=True)
        return result


def each_field_its_own_transaction(mutation_type: type) -> type:
    """Give every field of the Mutation root type its own transaction (`OwnTransaction`)."""
    definition = get_object_definition(mutation_type, strict=True)
    for field in definition.fields:
        field.extensions.append(OwnTransaction())
    return mutation_type
