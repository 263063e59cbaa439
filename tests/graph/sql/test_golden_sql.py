"""Golden files of the compiled SQL: a change to the SQL the compiler writes shows up in review.

Each `golden/<name>.graphql` is a representative document (its first lines may carry
`# variables: {...}`: a plan depends on which variables are null); `golden/<name>.sql` is the
SQL that `compile_operation` writes for it against the schema's registry, laid out one clause
per line (a line break only where the statement has a space, so the layout loses nothing).
When a change to the compiler is meant, regenerate the files and review their diff:

    FISIOFLOW_UPDATE_GOLDEN=1 .venv/bin/pytest tests/graph/sql/test_golden_sql.py
"""

import difflib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from graphql import parse, validate
from graphql.utilities import get_operation_ast

from graph.extensions.compiled_queries import ValidatedOperation, coerce_variables
from graph.schema import COMPILED, schema
from graph.sql.compiler import compile_operation

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("FISIOFLOW_UPDATE_GOLDEN") == "1"
DOCUMENTS = sorted(GOLDEN.glob("*.graphql"))
VARIABLES = re.compile(r"^# variables: (.*)$", re.MULTILINE)
# Where a clause starts: a line break goes before these words (outside string literals).
CLAUSE = re.compile(r" (?=(?:select|from|where|order by|group by|limit|union all|left join|join) )")


def layout(sql: str) -> str:
    """One clause per line, indented by its subquery depth (clauses inside a function call,
    such as `json_agg(x order by y)` or `extract(epoch from t)`, stay on their line)."""
    out: list[str] = []
    subquery: list[bool] = []  # per open parenthesis: does a statement start in it?
    quoted = False
    for i, char in enumerate(sql):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            subquery.append(sql.startswith(("select ", "insert ", "with "), i + 1))
        elif not quoted and char == ")":
            subquery.pop()
        in_statement = not subquery or subquery[-1]
        if not quoted and char == " " and in_statement and CLAUSE.match(sql, i):
            out.append("\n" + "  " * sum(subquery))
        else:
            out.append(char)
    return "".join(out) + "\n"


def unlayout(text: str) -> str:
    return re.sub(r"\n +|\n", " ", text.rstrip("\n"))


def compiled_sql(document_path: Path) -> str:
    source = document_path.read_text()
    found = VARIABLES.search(source)
    raw: dict[str, Any] = json.loads(found.group(1)) if found else {}
    document = parse(source)
    assert not validate(schema._schema, document), f"{document_path.name} is not valid"
    operation = get_operation_ast(document)
    assert operation is not None
    variables = coerce_variables(schema._schema, operation, raw)
    assert variables is not None, f"{document_path.name}: invalid variables"
    ready = ValidatedOperation(schema, COMPILED, document, operation)
    plan = compile_operation(
        COMPILED, document, None, variables, ready.convert_input, ready.graphql_schema
    )
    return plan.sql


def test_the_golden_set_covers_the_compiler() -> None:
    """Representative documents, and no stale SQL without its document."""
    assert len(DOCUMENTS) >= 10
    assert {p.stem for p in GOLDEN.glob("*.sql")} <= {p.stem for p in DOCUMENTS}
    assert any("mutation" in p.read_text() for p in DOCUMENTS)


def test_the_layout_loses_nothing() -> None:
    sql = "select f('a from b', (select x from t where y = 1 order by z limit 2)) from u"
    laid = layout(sql)
    assert laid.count("\n") == 6  # five clauses and the last line; the quoted `from` stays
    assert unlayout(laid) == sql


@pytest.mark.parametrize("document_path", DOCUMENTS, ids=[p.stem for p in DOCUMENTS])
def test_compiled_sql_matches_its_golden_file(document_path: Path) -> None:
    sql = compiled_sql(document_path)
    laid = layout(sql)
    assert unlayout(laid) == sql, "the SQL has line breaks of its own: layout() must keep them"
    golden = document_path.with_suffix(".sql")
    if UPDATE:
        golden.write_text(laid)
    expected = golden.read_text() if golden.exists() else ""
    if laid != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            laid.splitlines(keepends=True),
            f"{golden.name} (golden)",
            f"{golden.name} (compiled now)",
        )
        pytest.fail(
            f"the compiled SQL of {document_path.name} changed; if that is meant, run "
            "FISIOFLOW_UPDATE_GOLDEN=1 pytest tests/graph/sql/test_golden_sql.py and review "
            "the diff:\n" + "".join(diff),
            pytrace=False,
        )
