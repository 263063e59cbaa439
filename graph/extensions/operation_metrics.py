"""Every operation's name, type, outcome and latency in the app's metrics
(graph/observability/metrics.py)."""

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from graph.core.documents import selected_operation
from graph.observability.metrics import error_code, metrics_of


class OperationMetrics(SchemaExtension):
    """Times every operation and records its name, type and outcome (listed first in the
    schema's extensions, so it sees the errors as the client will)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        raised: BaseException | None = None
        try:
            yield
        except BaseException as error:
            raised = error
            raise
        finally:
            execution = self.execution_context
            metrics = metrics_of(getattr(execution.context, "request", None))
            if metrics is not None:
                document = execution.graphql_document
                name, kind = "unknown", "unknown"
                if document is not None:
                    try:
                        operation = selected_operation(document, execution.operation_name)
                    except Exception:
                        operation = None
                    if operation is not None:
                        name = operation.name.value if operation.name else "anonymous"
                        kind = operation.operation.value
                result = execution.result
                if raised is not None:
                    outcome = error_code(raised)
                elif result is not None and result.errors:
                    outcome = error_code(result.errors[0])
                else:
                    outcome = "OK"
                metrics.record_operation(name, kind, outcome, time.perf_counter() - started)
