"""Settings read from the environment, shared by the web app, the CLI and Alembic."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = ROOT / "instance" / "yijianshi.sqlite"


def database_url() -> str:
    """`DATABASE_URL` (PostgreSQL in production), else the embedded SQLite file."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"
