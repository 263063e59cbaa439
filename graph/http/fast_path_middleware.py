"""Hands `POST /graphql` JSON requests with a bearer token to the fast path
(graph/http/fast_path.py), ahead of the router and the GraphQL view; whatever it declines goes
on to them with its body intact and the request it read handed on (graph/http/request.py), so
the view neither parses the body nor looks its persisted document up again."""

import logging

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.http.fast_path import FastPath
from graph.http.media import JSON, media_headers, negotiate
from graph.http.request import GraphQLRequest, HttpError, hand_on, read_request

log = logging.getLogger("fisioflow.fast_path")

JSON_MEDIA_TYPE = JSON.encode()


class FastPathMiddleware:
    """Installed inside the request context, CORS and the body limit
    (graph/http/operations.py)."""

    def __init__(self, app: ASGIApp, fast_path: FastPath, path: str = "/graphql") -> None:
        self.app = app
        self.fast_path = fast_path
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization")
        if authorization is None or not self._eligible(scope, headers):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client left
            return
        answer = await self._answer(scope, body, authorization.decode("latin-1"))
        if answer is None:
            await self.app(scope, _replay(body, receive), send)
            return
        media_type = negotiate(headers.get(b"accept", b"").decode("latin-1"))
        response_headers = [(k.encode(), v.encode()) for k, v in media_headers(media_type).items()]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*response_headers, (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def _eligible(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        return (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == self.path
            and content_type == JSON_MEDIA_TYPE
            and self.fast_path.settings.compile_queries
        )

    async def _answer(self, scope: Scope, body: bytes, authorization: str) -> bytes | None:
        """The fast path's answer, or None; the request read is left for the view."""
        request = _request(body)
        if request is None:  # the view refuses it, as GraphQL over HTTP asks
            return None
        hand_on(scope.setdefault("state", {}), request)
        try:
            return await self.fast_path.answer(request, authorization, scope)
        except Exception:  # a fault of its own: the normal path answers, as the API documents
            log.exception("the fast path failed; the normal path answers")
            return None


def _request(body: bytes) -> GraphQLRequest | None:
    """A single request (a batch takes the normal path), if well formed."""
    try:
        data = orjson.loads(body)
        return read_request(data) if isinstance(data, dict) else None
    except (orjson.JSONDecodeError, HttpError):
        return None


async def _read_body(receive: Receive) -> bytes | None:
    body, more_body = b"", True
    while more_body:
        message = await receive()
        if message["type"] != "http.request":
            return None
        body += message.get("body", b"")
        more_body = message.get("more_body", False)
    return body


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever comes next."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
