"""What graph/security/input_limits costs a request: `check_operation` on the bench's operations
(bench/run.py QUERIES), as the fast path runs it on every request it serves.

    .venv/bin/python bench/input_limits.py [--repeat 20000]

The document's literals are checked once per document (cached); a request walks only its
variables' values. Prints microseconds per call, and the first call (the plan) per document.
"""

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graphql import parse
from graphql.utilities import get_operation_ast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import QUERIES
from graph.core.ids import to_global_id
from graph.extensions.compiled_queries import coerce_variables
from graph.schema import schema
from graph.security.input_limits import check_operation

VARIABLES: dict[str, dict[str, Any]] = {
    "point": {"id": to_global_id("Patient", uuid.uuid4())},
    "mutation": {
        "input": {
            "patientId": to_global_id("Patient", uuid.uuid4()),
            "physiotherapistId": to_global_id("Physiotherapist", uuid.uuid4()),
            "startsAt": datetime(2100, 1, 1, tzinfo=UTC).isoformat(),
            "durationMinutes": 30,
            "type": "SESSION",
            "notes": "Retorno",
        }
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20_000)
    repeat = parser.parse_args().repeat
    graphql_schema = schema._schema
    for name, query in QUERIES.items():
        document = parse(query)
        operation = get_operation_ast(document)
        assert operation is not None
        variables = coerce_variables(graphql_schema, operation, VARIABLES.get(name, {}))
        assert variables is not None
        started = time.perf_counter()
        check_operation(graphql_schema, document, operation, variables)
        first = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(repeat):
            check_operation(graphql_schema, document, operation, variables)
        each = (time.perf_counter() - started) / repeat
        print(f"{name:12} first {first * 1e6:8.1f} us   then {each * 1e6:6.2f} us per request")


if __name__ == "__main__":
    main()
