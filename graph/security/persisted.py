"""Persisted queries: Automatic Persisted Queries and an optional allow-list.

APQ is the convention Apollo and urql clients follow: a request carries
`extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}` and no `query`; an
unknown hash is answered `PERSISTED_QUERY_NOT_FOUND` (message `PersistedQueryNotFound`, which
the clients look for), and the client then sends hash and query together, which registers the
query once it has parsed and validated. The store is in-process and bounded (entries and
bytes), so each worker learns the queries on its own: a miss costs a client one extra round
trip, nothing more.

Allow-list mode (`FISIOFLOW_PERSISTED_QUERIES_ONLY`) accepts only documents of a manifest
(`FISIOFLOW_PERSISTED_QUERIES_FILE`): either an Apollo persisted-query manifest
(`{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}]}`) or a plain
`{"<id>": "<document>"}` map (GraphQL Code Generator, Relay). Requests name a document by its
id or sha256 (APQ extension or the `documentId` parameter), or send its exact text. Nothing
is registered at run time in that mode.
"""

import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLError

from graph.core.errors import BAD_USER_INPUT, FORBIDDEN, PERSISTED_QUERY_NOT_FOUND
from graph.core.settings import Settings

PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# A bound on the bytes of query text the APQ store keeps, whatever its entry count.
MAX_STORED_BYTES = 16 * 1024 * 1024


def sha256_hex(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def not_found() -> GraphQLError:
    return GraphQLError("PersistedQueryNotFound", extensions={"code": PERSISTED_QUERY_NOT_FOUND})


def _bad(message: str) -> GraphQLError:
    return GraphQLError(
        message, extensions={"code": BAD_USER_INPUT, "field": "extensions.persistedQuery"}
    )


def load_manifest(path: Path) -> dict[str, str]:
    """Document id → document text, from an Apollo manifest or a plain id → text map."""
    data = orjson.loads(path.read_bytes())
    documents: dict[str, str] = {}
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        for operation in data["operations"]:
            documents[str(operation["id"])] = str(operation["body"])
    elif isinstance(data, dict):
        documents = {str(key): str(value) for key, value in data.items()}
    else:
        raise ValueError(f"{path}: not a persisted-query manifest")
    # Documents are also found by the sha256 of their text (APQ hashes, raw documents).
    for body in list(documents.values()):
        documents.setdefault(sha256_hex(body), body)
    return documents


def with_document_id(
    extensions: dict[str, Any] | None, document_id: str | None
) -> dict[str, Any] | None:
    """The request's extensions, with a `documentId` parameter (the persisted-documents
    convention, `sha256:<hex>`) as the APQ extension it stands for."""
    if document_id is None:
        return extensions
    return {**(extensions or {}), "persistedQuery": {"version": 1, "sha256Hash": document_id}}


@dataclass
class Resolved:
    """The document to run, and the hash to register it under once it proves valid."""

    query: str | None
    register_as: str | None = None


class PersistedQueries:
    def __init__(
        self,
        *,
        automatic: bool = True,
        cache_size: int = 1000,
        allow_list: Mapping[str, str] | None = None,
        only_allowed: bool = False,
    ) -> None:
        self.automatic = automatic and not only_allowed
        self.cache_size = cache_size
        self.allow_list = dict(allow_list or {})
        self.only_allowed = only_allowed
        self._store: OrderedDict[str, str] = OrderedDict()
        self._stored_bytes = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> "PersistedQueries":
        allow_list = (
            load_manifest(settings.persisted_queries_file)
            if settings.persisted_queries_file
            else None
        )
        if settings.persisted_queries_only and not allow_list:
            raise RuntimeError(
                "FISIOFLOW_PERSISTED_QUERIES_ONLY needs FISIOFLOW_PERSISTED_QUERIES_FILE"
                " (a manifest of the documents to accept)"
            )
        return cls(
            automatic=settings.persisted_queries,
            cache_size=settings.persisted_queries_cache_size,
            allow_list=allow_list,
            only_allowed=settings.persisted_queries_only,
        )

    def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> Resolved:
        """The request's document; raises a GraphQLError the client can act on."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if self.only_allowed and (query is None or self._known(sha256_hex(query)) is None):
                raise GraphQLError(
                    "Only registered operations are accepted by this server",
                    extensions={"code": FORBIDDEN},
                )
            return Resolved(query)
        document_id = self._document_id(persisted)
        if query is None:
            known = self._known(document_id)
            if known is None:
                if not (self.automatic or self.allow_list):
                    raise GraphQLError(
                        "PersistedQueryNotSupported",
                        extensions={"code": PERSISTED_QUERY_NOT_SUPPORTED},
                    )
                raise not_found()
            return Resolved(known)
        if self._known(document_id) == query:
            return Resolved(query)
        if self.only_allowed:
            raise GraphQLError(
                "Only registered operations are accepted by this server",
                extensions={"code": FORBIDDEN},
            )
        if sha256_hex(query) != document_id:
            raise _bad("provided sha does not match query")
        if not self.automatic:
            return Resolved(query)
        return Resolved(query, register_as=document_id)

    def register(self, document_id: str, query: str) -> None:
        if document_id in self._store:
            self._store.move_to_end(document_id)
            return
        self._store[document_id] = query
        self._stored_bytes += len(query)
        while self._store and (
            len(self._store) > self.cache_size or self._stored_bytes > MAX_STORED_BYTES
        ):
            _, evicted = self._store.popitem(last=False)
            self._stored_bytes -= len(evicted)

    def _known(self, document_id: str) -> str | None:
        if document_id in self.allow_list:
            return self.allow_list[document_id]
        query = self._store.get(document_id)
        if query is not None:
            self._store.move_to_end(document_id)
        return query

    def _document_id(self, persisted: Any) -> str:
        if not isinstance(persisted, Mapping) or persisted.get("version", 1) != 1:
            raise _bad("persistedQuery must be {version: 1, sha256Hash: <hex>}")
        document_id = persisted.get("sha256Hash")
        if not isinstance(document_id, str):
            raise _bad("persistedQuery.sha256Hash must be a string")
        document_id = document_id.removeprefix("sha256:")
        if not (SHA256_HEX.match(document_id) or document_id in self.allow_list):
            raise _bad("persistedQuery.sha256Hash must be a sha256 in lower-case hex")
        return document_id
