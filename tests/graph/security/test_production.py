"""The production preflight: the secrets a server must not serve with."""

import secrets

import pytest

from graph.core.settings import Settings
from graph.http.app import create_app
from graph.security.production import preflight

STRONG = secrets.token_urlsafe(48)


def test_a_weak_cursor_secret_stops_production_and_a_missing_jwt_secret_is_said_once() -> None:
    assert preflight(Settings(env="production", jwt_secret=STRONG)) == []
    assert (
        preflight(Settings(env="production", jwt_secret=STRONG, cursor_secret=STRONG[::-1])) == []
    )
    for weak in ("short", "x" * 64, "fisioflow-cursor-" + "a" * 20):
        [problem] = preflight(Settings(env="production", jwt_secret=STRONG, cursor_secret=weak))
        assert problem.startswith("FISIOFLOW_CURSOR_SECRET is too weak for production")
    [missing] = preflight(Settings(env="production", jwt_secret=None))
    assert "FISIOFLOW_JWT_SECRET must be set" in missing
    assert preflight(Settings(jwt_secret=STRONG, cursor_secret="short")) == []  # development


def test_production_app_refuses_a_weak_cursor_secret() -> None:
    settings = Settings(
        database_url="postgresql://postgres@127.0.0.1:5439/nowhere",
        env="production",
        jwt_secret=STRONG,
        cursor_secret="changeme" * 5,
    )
    with pytest.raises(RuntimeError, match="FISIOFLOW_CURSOR_SECRET"):
        create_app(settings)
