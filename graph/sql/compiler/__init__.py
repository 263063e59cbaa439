"""The query compiler: a read operation → one SQL statement that returns the response JSON.

It compiles against a `Registry` (registry.py): the declared types (models/declarations.py,
the same declarations the resolvers build their objects, sorts and filters from) and the
mutations it may run, built when the schema is assembled and passed in. planning.py walks the
operation and writes the SQL; plan.py holds the result, a `Plan`: one statement, one `text[]`
parameter, run in the caller's RLS transaction, so it sees exactly what the resolvers would.

Anything it does not know — a field without a declaration, arguments other than the page
ones and declared filters, directives, an argument value the resolvers would refuse — raises
`Unsupported`, and the operation runs through the resolvers instead; those also serve as the
oracle in the differential tests. A plan depends on the document and on which variables (and
input-object fields) are null (and, for `node(id:)`, on the type named in the ID), never on
the caller: RLS does the rest.
"""

from graph.sql.compiler.plan import MISSING, Plan, Refused, Unsupported, shape_of
from graph.sql.compiler.planning import compile_operation
from graph.sql.compiler.registry import (
    CompiledMutation,
    Registry,
)

__all__ = [
    "MISSING",
    "CompiledMutation",
    "Plan",
    "Refused",
    "Registry",
    "Unsupported",
    "compile_operation",
    "shape_of",
]
