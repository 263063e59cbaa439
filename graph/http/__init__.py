"""The HTTP edge: the ASGI app, the view, the fast path, exposure middleware."""
