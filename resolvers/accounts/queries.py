"""`me`: who is calling."""

import strawberry

from graph.api.context import Info
from resolvers.accounts.types import Viewer


def me(info: Info) -> Viewer:
    return Viewer(identity=info.context.require_identity())


@strawberry.type
class AccountQueries:
    me: Viewer = strawberry.field(resolver=me)
