"""Websockets carry subscriptions only.

A websocket's context lives as long as the connection, so a query or mutation sent over it
would have no request transaction to commit; clients send those over HTTP.
"""

from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graph.core.errors import BAD_USER_INPUT


class SubscriptionsOnlyOverWebsockets(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if (
            execution.context.is_websocket
            and execution.operation_type is not OperationType.SUBSCRIPTION
        ):
            execution.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        "Send queries and mutations over HTTP; websockets carry subscriptions",
                        extensions={"code": BAD_USER_INPUT},
                    )
                ],
            )
        yield
