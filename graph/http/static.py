"""GraphiQL, from this server's own files (graph/http/static/graphiql, no CDN): its page on a
GET of `/graphql` that asks for HTML, its files under `/graphiql/`. Off in production unless
`FISIOFLOW_GRAPHIQL` turns it on."""

from pathlib import Path

from starlette.datastructures import Headers, QueryParams
from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
GRAPHIQL_FILES = "/graphiql"
GRAPHIQL_PAGE = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
GRAPHIQL_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
        " img-src 'self' data:; font-src 'self' data:; connect-src 'self';"
        " frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def asks_for_graphiql(method: str, params: QueryParams, headers: Headers) -> bool:
    """A browser's GET of the endpoint: HTML accepted, no operation in the query string."""
    return (
        method == "GET"
        and not any(params.get(name) for name in ("query", "extensions", "documentId"))
        and "text/html" in headers.get("accept", "")
    )


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(GRAPHIQL_PAGE, headers=GRAPHIQL_HEADERS)


def graphiql_files() -> Mount:
    return Mount(GRAPHIQL_FILES, StaticFiles(directory=STATIC_DIR))
