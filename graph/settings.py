"""Configuration from the environment (see API.md, "Command line and configuration")."""

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FISIOFLOW_", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    env: Literal["development", "production"] = "development"
    jwt_secret: str | None = None
    jwt_ttl_seconds: int = 8 * 3600
    data_dir: Path = Path(".fisioflow")
    pool_size: int = 10
    max_page_size: int = 100

    def resolved_jwt_secret(self) -> str:
        """The HS256 key; in development an unset key is made once and kept in the data folder."""
        if self.jwt_secret:
            return self.jwt_secret
        if self.env == "production":
            raise RuntimeError("FISIOFLOW_JWT_SECRET must be set in production")
        path = self.data_dir / "jwt-secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
