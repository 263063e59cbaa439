"""What resolvers build on: the request context, Relay types, the read audit."""
