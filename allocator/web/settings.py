"""What a web server is given: the book, its secret, where uploads go, the limits."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

SECRET_ENV = "ALLOCATOR_SECRET_KEY"


class WebSettings(BaseModel):
    """Settings of one app (tests build their own on a temporary book).

    ``secure_cookies``: mark the session cookie ``Secure`` (set it when the app is served over
    TLS, directly or behind a TLS proxy); ``allocator serve`` sets it when given a certificate.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    db_url: str
    secret_key: str = Field(min_length=32)
    data_dir: Path
    secure_cookies: bool = False
    max_upload_bytes: int = Field(5 * 1024 * 1024, gt=0)
    login_max_failures: int = Field(5, ge=1)  # per username, within the window
    login_max_failures_per_client: int = Field(20, ge=1)  # per client address
    login_window_minutes: float = Field(15.0, gt=0)
    session_max_age_s: int = Field(8 * 3600, gt=0)  # one working day
    page_size: int = Field(50, ge=1, le=1000)
    nightly_time_limit: float = Field(60.0, gt=0)
    compare_max_scenarios: int = Field(200, ge=1)
    simulate_max_replications: int = Field(100, ge=1)
    # local worker processes of a simulation job (None: one per core; 1: in the server's job
    # thread, no processes)
    simulate_workers: int | None = Field(None, ge=1)


def secret_key(data_dir: Path) -> str:
    """The signing secret: ``$ALLOCATOR_SECRET_KEY``, else one kept in ``data_dir/secret_key``
    (made on first use, readable by its owner only), so sessions survive a restart."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key)
    return key
