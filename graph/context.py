"""What every resolver gets in `info.context`: the caller, their transaction and loaders."""

from dataclasses import dataclass, field

import strawberry
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from graph.auth import Identity, Role
from graph.errors import FORBIDDEN, UNAUTHENTICATED, ApiError
from graph.loaders import Loaders
from graph.session import RequestDb
from graph.settings import Settings


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: Settings
    engine: AsyncEngine
    jwt_secret: str
    identity: Identity | None
    auth_error: ApiError | None = None
    db: RequestDb = field(init=False)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.db = RequestDb(self.engine, self.identity)
        self.loaders = Loaders(self.db)

    def require_identity(self) -> Identity:
        if self.identity is None:
            raise self.auth_error or ApiError(UNAUTHENTICATED, "Authentication required")
        return self.identity

    def require_role(self, *roles: Role) -> Identity:
        """A friendlier refusal than RLS gives; the database enforces the same rule anyway."""
        identity = self.require_identity()
        if identity.role not in roles:
            raise ApiError(FORBIDDEN, "Your role may not do this")
        return identity

    async def switch_identity(self, identity: Identity) -> None:
        """After a login: commit what was done anonymously; read the rest as the new user."""
        await self.db.finish(commit=True)
        self.identity = identity
        self.auth_error = None
        self.db = RequestDb(self.engine, identity)
        self.loaders = Loaders(self.db)


Info = strawberry.Info[Context, None]
