"""graphql-transport-ws and the legacy graphql-ws are text protocols: every message goes out as a
JSON *text* frame. (Strawberry's adapter sends bytes when `encode_json` returns bytes, as ours
does; standard clients such as graphql-ws and gql refuse binary frames.)"""

from collections.abc import Mapping

from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected


class TextFrameWebSocketAdapter(ASGIWebSocketAdapter):
    async def send_json(self, message: Mapping[str, object]) -> None:
        await self.send_text(self.view.encode_json_string(message))

    async def send_text(self, text: str) -> None:
        """A message already encoded (a fan-out group's payload framed for one member)."""
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc
