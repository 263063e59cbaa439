"""Configuration from the environment (see API.md, "Command line and configuration")."""

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from strawberry.http.websocket_origin import normalize_allowed_origins, normalize_origin

from graph.core.smtp import SmtpAddress

# Browser origins a development server accepts without configuration: pages served from this
# machine (any scheme's default port or any other port), e.g. a Vite app on localhost:5173.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FISIOFLOW_", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    env: Literal["development", "production"] = "development"
    jwt_secret: str | None = None
    jwt_ttl_seconds: int = 8 * 3600
    # The key page cursors are encrypted and authenticated with (graph/core/cursors.py); unset,
    # it is derived from the JWT secret. Set it to keep cursors valid across a JWT key rotation.
    cursor_secret: str | None = None
    # An external identity provider whose RS256 tokens are accepted too
    # (graph/security/jwks.py), and
    # the `aud` its tokens must carry (not checked when unset).
    jwks_url: str | None = None
    jwt_audience: str | None = None
    data_dir: Path = Path(".fisioflow")
    pool_size: int = 10
    # `transaction`: DATABASE_URL is a pooler in transaction mode (PgBouncer's
    # `pool_mode = transaction`), which hands each transaction any server connection, so nothing
    # may rely on session state (graph/sql/pooling.py): no prepared statements kept by name, no
    # session settings. LISTEN needs a session of its own: it uses `direct_database_url`
    # (FISIOFLOW_DIRECT_DATABASE_URL, the PostgreSQL server itself; DATABASE_URL when unset).
    pooler: Literal["none", "transaction"] = "none"
    direct_database_url: str | None = None
    # The folder of pg_dump and pg_restore for `fisioflow db backup|restore` (graph/sql/backup.py),
    # of the server's major version; unset: the embedded PostgreSQL's, or Debian's
    # /usr/lib/postgresql/<major>/bin.
    pg_bin: Path | None = None
    # Streaming read replicas (graph/sql/replicas.py), comma-separated in
    # FISIOFLOW_REPLICA_URLS: queries read from one of them, mutations and the reads of a login
    # whose own last write a replica has not replayed yet go to DATABASE_URL. A replica that
    # does not answer, or whose replay is more than `replica_max_lag_seconds` behind, is
    # skipped; each is checked every `replica_check_seconds`.
    replica_urls: Annotated[list[str], NoDecode] = []
    replica_max_lag_seconds: float = Field(default=5.0, gt=0)
    replica_check_seconds: float = Field(default=0.5, gt=0)
    max_page_size: int = 100
    # Serve read operations the compiler understands with one SQL statement (graph/sql/compiler).
    compile_queries: bool = True
    # Browser origins allowed to open a websocket (same-origin and non-browser clients always
    # may) and to call /graphql cross-origin (CORS, graph/http/operations.py); comma-separated in
    # FISIOFLOW_ALLOWED_ORIGINS, e.g. https://app.fisioflow.com.br ("*": any). Development
    # also accepts loopback origins (`origin_allowed`).
    allowed_origins: Annotated[list[str], NoDecode] = []
    max_subscriptions_per_connection: int = 50
    subscription_queue_size: int = 256
    # permessage-deflate compresses each frame once per connection: a fan-out of one event to
    # N sockets costs N compressions of a few hundred bytes that barely shrink. Off, as in
    # most GraphQL websocket servers (graphql-ws over `ws`, Hasura); opt in for large frames.
    ws_per_message_deflate: bool = False
    # Log when each stage of the realtime path is done per event (graph/realtime/stages.py),
    # for bench/subscriptions.py --stages.
    realtime_stage_timing: bool = False
    # How long the event log keeps events (graph/realtime/retention.py): how far back a
    # subscription can resume with `after` (older: CURSOR_EXPIRED).
    event_retention_days: int = Field(default=7, ge=1)
    # How often each process ticks the compliance clock (graph/realtime/compliance_clock.py): a
    # deadline that passes reaches `complianceStatusChanged` within this many seconds.
    compliance_clock_seconds: float = Field(default=30.0, gt=0)
    # Safe to expose (graph/extensions/request_limits.py, graph/http/view.py,
    # graph/security/persisted.py, graph/security/ratelimit.py).
    # None = on in development, off in production; set true/false to force either way.
    graphiql: bool | None = None
    introspection: bool | None = None
    suggestions: bool | None = None
    max_depth: int = 12
    max_tokens: int = 2000
    max_aliases: int = 30
    max_cost: int = 10_000
    max_batch_operations: int = 10
    max_body_bytes: int = 1_048_576
    statement_timeout_ms: int = 5_000
    # Failed logins per window (graph/security/ratelimit.py): an (e-mail, client address)
    # pair is locked
    # out after the first limit; the e-mail from everywhere after the higher ceiling; one address
    # after failing on many e-mails.
    login_max_failures_per_email_and_address: int = 5
    login_max_failures_per_email: int = 20
    login_max_failures_per_address: int = 50
    login_window_seconds: int = 900
    persisted_queries: bool = True
    persisted_queries_cache_size: int = 1_000
    persisted_queries_file: Path | None = None
    persisted_queries_only: bool = False
    log_level: str = "INFO"
    # /metrics (graph/http/operations.py): with a token, only `Authorization: Bearer <token>`
    # may read
    # it; without one it is open in development and closed in production unless opened here.
    metrics_token: str | None = None
    metrics_public: bool | None = None
    # Appointment reminders (graph/integrations/reminders.py): how often each server process
    # looks for reminders due (0: this process never does), and the e-mail they send when an
    # SMTP server is configured (graph/core/smtp.py).
    reminder_interval_seconds: float = Field(default=60.0, ge=0)
    smtp_url: str | None = None
    smtp_from: str | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    reminder_email_attempts: int = Field(default=5, ge=1)
    # Webhooks (graph/integrations/webhooks.py): how often each server process dispatches
    # new events and sends due deliveries (0: this process never does), attempts before a
    # delivery is dead, the timeout of each send, and whether URLs may point to private or
    # loopback addresses (None: only in development).
    webhook_interval_seconds: float = Field(default=1.0, ge=0)
    webhook_attempts: int = Field(default=8, ge=1)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_allow_private_urls: bool | None = None

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value:
            SmtpAddress.from_url(value)  # its ValueError says what is wrong
        return value

    @model_validator(mode="after")
    def _smtp_sender(self) -> "Settings":
        """An e-mail needs a sender: the SMTP URL alone does not say whom it is from."""
        if self.smtp_url and not self.smtp_from:
            raise ValueError("FISIOFLOW_SMTP_FROM must be set with FISIOFLOW_SMTP_URL")
        return self

    @model_validator(mode="after")
    def _production_limits(self) -> "Settings":
        """In production, the limits not set explicitly take the stricter PRODUCTION_LIMITS."""
        if self.env == "production":
            for name, value in PRODUCTION_LIMITS.items():
                if name not in self.model_fields_set:
                    setattr(self, name, value)
        return self

    def direct_url(self) -> str:
        """Where sessions that must stay one server session connect (LISTEN)."""
        url = self.direct_database_url or self.database_url
        assert url is not None, "DATABASE_URL is not set"
        return url

    def enabled(
        self, switch: Literal["graphiql", "introspection", "suggestions", "metrics_public"]
    ) -> bool:
        """A production switch: its explicit value, else on only in development."""
        value: bool | None = getattr(self, switch)
        return self.env == "development" if value is None else value

    @field_validator("allowed_origins", "replica_urls", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _normalize_origins(cls, value: list[str]) -> list[str]:
        """As browsers send them (`https://App.example:443` is `https://app.example`); an entry
        that is not an origin (a path, no scheme) is refused when the settings load."""
        return sorted(normalize_allowed_origins(value))

    def origin_allowed(self, origin: str) -> bool:
        """Whether a page on `origin` may call the API from the browser: CORS on HTTP and the
        websocket handshake both ask this. The configured origins, and in development any
        loopback origin."""
        normalized = normalize_origin(origin)
        if normalized is None:
            return False
        if "*" in self.allowed_origins or normalized in self.allowed_origins:
            return True
        parts = urlsplit(normalized)
        return (
            self.env == "development"
            and parts.scheme in ("http", "https")
            and parts.hostname in LOOPBACK_HOSTS
        )

    def webhook_private_urls(self) -> bool:
        """Whether webhook URLs may reach private addresses: explicit, else development only."""
        if self.webhook_allow_private_urls is None:
            return self.env == "development"
        return self.webhook_allow_private_urls

    def resolved_jwt_secret(self) -> str:
        """The HS256 key; in development an unset key is made once and kept in the data folder."""
        if self.jwt_secret:
            if self.env == "production" and (reason := weak_secret_reason(self.jwt_secret)):
                raise RuntimeError(f"FISIOFLOW_JWT_SECRET is too weak for production: {reason}")
            return self.jwt_secret
        if self.env == "production":
            raise RuntimeError("FISIOFLOW_JWT_SECRET must be set in production")
        path = self.data_dir / "jwt-secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def resolved_cursor_secret(self) -> str:
        """What page cursors' keys are derived from: `cursor_secret`, else the JWT secret."""
        if not self.cursor_secret:
            return self.resolved_jwt_secret()
        if self.env == "production" and (reason := weak_secret_reason(self.cursor_secret)):
            raise RuntimeError(f"FISIOFLOW_CURSOR_SECRET is too weak for production: {reason}")
        return self.cursor_secret


# What production tightens (API.md: "stricter limits"), unless set explicitly. The cost limit
# stays: the benchmark's nested list (50 patients, their last 10 appointments and payments)
# costs about 6,200 and is a fair thing for a clinic's app to ask.
PRODUCTION_LIMITS: dict[str, int] = {
    "max_depth": 10,
    "max_tokens": 1_500,
    "max_aliases": 15,
    "max_batch_operations": 5,
    "max_body_bytes": 262_144,
}

PLACEHOLDER_SECRETS = ("secret", "changeme", "change-me", "password", "fisioflow", "test", "jwt")


def weak_secret_reason(secret: str) -> str | None:
    """Why an HS256 key is too weak to sign production tokens; None when it will do."""
    if len(secret) < 32:
        return "use at least 32 random characters, e.g. from secrets.token_urlsafe(48)"
    if len(set(secret)) < 12:
        return "too few distinct characters; use a random value"
    lowered = secret.lower()
    if any(lowered.startswith(word) for word in PLACEHOLDER_SECRETS):
        return "looks like a placeholder; use a random value"
    return None


@lru_cache
def get_settings() -> Settings:
    return Settings()
