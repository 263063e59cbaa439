"""Checks `fisioflow serve` runs before it starts anything (a database, migrations, a port).

In production (`FISIOFLOW_ENV=production`) the server refuses to start without a strong
`FISIOFLOW_JWT_SECRET`, or with a weak `FISIOFLOW_CURSOR_SECRET`; in any mode it refuses an
allow-list mode without a readable manifest.
What production turns off by default (introspection, suggestions, GraphiQL) is read from the
settings where it applies: graph/extensions/request_limits.py and graph/http/view.py.
"""

from graph.core.settings import Settings
from graph.security.persisted import PersistedQueries


def preflight(settings: Settings) -> list[str]:
    """Why this configuration must not serve; empty when it may."""
    problems: list[str] = []
    if settings.env == "production":
        resolvers = [settings.resolved_jwt_secret]
        if settings.cursor_secret:
            resolvers.append(settings.resolved_cursor_secret)
        for resolve in resolvers:
            try:
                resolve()
            except RuntimeError as error:
                problems.append(str(error))
    try:
        PersistedQueries.from_settings(settings)
    except (RuntimeError, ValueError, OSError, KeyError) as error:
        problems.append(f"persisted queries: {error}")
    return problems
