"""The HTTP edge: the ASGI app (app.py), the one view class (view.py), media negotiation
(media.py), reading requests (request.py), results as JSON (results.py), the fast path and its
middleware, the body limit, GraphiQL's files (static.py), exposure middleware (operations.py)."""
