"""RS256 tokens of an external identity provider (FISIOFLOW_JWKS_URL), beside the server's own
HS256 ones: its key set served over real HTTP, real RSA keys. A provider token's `sub` names
the provider's user; it acts as the login linked to that subject (`fisioflow link-login`),
with that login's clinic and role, whatever else the token claims."""

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from graph.core.identity import Identity
from graph.security import jwks
from seed import admin
from tests.support.apps import app_client
from tests.support.factories import ClinicWorld, make_clinic
from tests.support.graphql_client import error_codes, graphql
from tests.support.servers import running_server

ME = "{ me { role clinic { name } } }"
AUDIENCE = "authenticated"


@dataclass
class IdentityProvider:
    url: str
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    requests: int = 0

    def add_key(self, key_id: str) -> rsa.RSAPrivateKey:
        self.keys[key_id] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.keys[key_id]

    def document(self) -> bytes:
        entries = []
        for key_id, key in self.keys.items():
            entry = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            entries.append({**entry, "kid": key_id, "use": "sig", "alg": "RS256"})
        return json.dumps({"keys": entries}).encode()

    def token(self, who: Identity, key_id: str, **claims: Any) -> str:
        payload = {
            "sub": subject_of(who),
            "clinic_id": str(who.clinic_id),
            "role": who.role.value,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 600,
            **claims,
        }
        key = self.keys[key_id]
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": key_id})


def subject_of(who: Identity) -> str:
    """The provider's name for the user of this login (see `world`)."""
    return f"provider|{who.user_id.hex}"


@pytest.fixture
def provider() -> Iterator[IdentityProvider]:
    provider = IdentityProvider("")

    class KeySet(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            provider.requests += 1
            body = provider.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeySet)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    provider.add_key("key-1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield provider
    server.shutdown()
    server.server_close()


@pytest.fixture
async def world(superuser: asyncpg.Connection, database_url: str) -> ClinicWorld:
    """A clinic whose logins are linked to provider users, as `fisioflow link-login` does."""
    world = await make_clinic(superuser, "Clínica JWKS")
    for who in (world.admin, world.receptionist, world.physio, world.other_physio, world.patient):
        email = await superuser.fetchval("select email from users where id = $1", who.user_id)
        assert await admin.link_login(database_url, email, subject_of(who))
    return world


async def _me(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    )
    body: dict[str, Any] = response.json()
    return body


async def test_provider_tokens_are_accepted_beside_our_own(
    database_url: str, provider: IdentityProvider, world: ClinicWorld
) -> None:
    """`fisioflow serve` fetches the key set as it starts."""
    environment = {"FISIOFLOW_JWKS_URL": provider.url, "FISIOFLOW_JWT_AUDIENCE": AUDIENCE}
    with running_server(database_url, **environment) as server:
        async with httpx.AsyncClient(base_url=server.http) as client:
            await _accepts_only_valid_tokens(client, provider, world)


async def _accepts_only_valid_tokens(
    client: httpx.AsyncClient, provider: IdentityProvider, world: ClinicWorld
) -> None:
    accepted = await _me(client, provider.token(world.admin, "key-1"))
    assert accepted == {"data": {"me": {"role": "ADMIN", "clinic": {"name": "Clínica JWKS"}}}}
    own = await _me(client, world.token(world.receptionist))
    assert own["data"]["me"]["role"] == "RECEPTIONIST"

    claims = {
        "sub": subject_of(world.admin),
        "clinic_id": str(world.clinic_id),
        "role": "admin",
        "aud": AUDIENCE,
        "exp": int(time.time()) + 600,
    }
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": "key-1"})
    refused = [
        forged,
        _signed_with_public_key_as_secret(provider.keys["key-1"], claims),
        provider.token(world.admin, "key-1", aud="someone-else"),
        provider.token(world.admin, "key-1", exp=int(time.time()) - 10),
        provider.token(world.receptionist, "key-1", role="admin"),
    ]
    for token in refused:
        assert error_codes(await _me(client, token)) == ["UNAUTHENTICATED"], token
    # A role of the provider's own vocabulary is not one of ours: the row's role applies.
    foreign_role = await _me(client, provider.token(world.receptionist, "key-1", role="superuser"))
    assert foreign_role["data"]["me"]["role"] == "RECEPTIONIST"


def _signed_with_public_key_as_secret(key: rsa.RSAPrivateKey, claims: dict[str, Any]) -> str:
    """HS256 with the provider's public key as the HMAC secret: the classic algorithm
    confusion (PyJWT will not make one, so it is made by hand)."""
    secret = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "key-1"}).encode())
    payload = part(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{part(signature)}"


async def test_tokens_of_a_new_provider_key_work_once_it_is_fetched(
    database_url: str,
    provider: IdentityProvider,
    world: ClinicWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In process (no start-up fetch here): the first token asks for the key set, and after a
    rotation at the provider, the first token of the new key asks again."""
    monkeypatch.setattr(jwks, "REFRESH_INTERVAL", 0.0)
    async with app_client(database_url, jwks_url=provider.url) as client:
        for key_id in ("key-1", "key-2"):
            if key_id not in provider.keys:
                provider.add_key(key_id)
            token = provider.token(world.admin, key_id)
            fetched = provider.requests
            assert error_codes(await _me(client, token)) == ["UNAUTHENTICATED"]
            for _ in range(100):  # the refresh it asked for runs in the background
                if provider.requests > fetched:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            assert (await _me(client, token))["data"]["me"]["role"] == "ADMIN"


async def test_without_a_key_set_provider_tokens_are_refused(
    client: httpx.AsyncClient, provider: IdentityProvider, world: ClinicWorld
) -> None:
    assert error_codes(await _me(client, provider.token(world.admin, "key-1"))) == [
        "UNAUTHENTICATED"
    ]


async def test_a_provider_token_is_the_linked_login_and_nothing_more(
    superuser: asyncpg.Connection,
    database_url: str,
    provider: IdentityProvider,
    world: ClinicWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The outside tester's attack: a provider token carrying a clinic-A patient's `sub`, with
    clinic B's id and `role: admin`, read clinic B's prontuários and created an admin there.
    Now the subject is the login, and its claims must agree with that login's row."""
    monkeypatch.setattr(jwks, "REFRESH_INTERVAL", 0.0)
    other = await make_clinic(superuser, "Clínica B")
    patient = world.patient
    async with app_client(database_url, jwks_url=provider.url) as client:
        await _me(client, provider.token(patient, "key-1"))  # asks for the key set
        for _ in range(100):
            if provider.requests:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        # Supabase-like: only `sub` and a role of the provider's own. The row says the rest.
        plain = jwt.encode(
            {"sub": subject_of(patient), "role": "authenticated", "aud": AUDIENCE,
             "exp": int(time.time()) + 600},
            provider.keys["key-1"], algorithm="RS256", headers={"kid": "key-1"},
        )  # fmt: skip
        me = await _me(client, plain)
        assert me == {"data": {"me": {"role": "PATIENT", "clinic": {"name": "Clínica JWKS"}}}}

        attack = [
            provider.token(patient, "key-1", clinic_id=str(other.clinic_id), role="admin"),
            provider.token(patient, "key-1", role="admin"),
            provider.token(patient, "key-1", clinic_id=str(other.clinic_id)),
            provider.token(patient, "key-1", patient_id=str(world.patient_ids[1])),
            # Not linked: the login's own id as `sub`, or a subject nobody linked.
            provider.token(patient, "key-1", sub=str(patient.user_id)),
            provider.token(patient, "key-1", sub="provider|nobody"),
        ]
        create_admin = """mutation { createStaffUser(input: {email: "intruso@example.com",
          password: "senha-forte-123", role: ADMIN}) { id } }"""
        for token in attack:
            assert error_codes(await _me(client, token)) == ["UNAUTHENTICATED"], token
            body = await graphql(client, create_admin, token=token)
            assert error_codes(body) == ["UNAUTHENTICATED"], token
        assert not await superuser.fetchval(
            "select exists(select from users where email = 'intruso@example.com')"
        )

        # Unlinked, the subject stops working at once, even for a token seen before.
        email = await superuser.fetchval("select email from users where id = $1", patient.user_id)
        assert await admin.link_login(database_url, email, None)
        assert error_codes(await _me(client, plain)) == ["UNAUTHENTICATED"]


async def test_a_subject_links_to_one_login_only(
    database_url: str, world: ClinicWorld, superuser: asyncpg.Connection
) -> None:
    email = await superuser.fetchval(
        "select email from users where id = $1", world.receptionist.user_id
    )
    with pytest.raises(ValueError, match="linked to another login"):
        await admin.link_login(database_url, email, subject_of(world.admin))
    assert not await admin.link_login(database_url, "nobody@example.com", "provider|x")
