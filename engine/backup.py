"""Backup and restore of the whole database: SQLite's online backup, or pg_dump/pg_restore."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.db import Database


def _pg_tool(name: str) -> str:
    """pg_dump / pg_restore: from PG_BIN, PATH, or the Debian server directory."""
    candidates = [Path(os.environ["PG_BIN"]) / name] if os.environ.get("PG_BIN") else []
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    for path in candidates:
        if path.exists():
            return str(path)
    raise FileNotFoundError(f"{name} not found; install the PostgreSQL client tools or set PG_BIN")


def _libpq_args(db: Database) -> tuple[list[str], dict[str, str]]:
    url = make_url(db.engine.url.render_as_string(hide_password=False))
    args = ["--dbname", url.database or "postgres", "--username", url.username or "postgres"]
    host = url.query.get("host") or url.host
    if host:
        args += ["--host", str(host)]
    if url.port:
        args += ["--port", str(url.port)]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def backup(db: Database, target: Path) -> Path:
    """Write a consistent copy of the live database to `target` (safe while the app runs)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if db.is_sqlite:
        source = sqlite3.connect(db.engine.url.database)
        try:
            with sqlite3.connect(target) as copy:
                source.backup(copy)
        finally:
            source.close()
        return target
    args, env = _libpq_args(db)
    subprocess.run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), *args],
                   check=True, env=env, capture_output=True)
    return target


def restore(db: Database, source: Path) -> None:
    """Replace the database's content with the backup at `source`. Stop the app first."""
    if not source.exists():
        raise FileNotFoundError(f"no backup at {source}")
    db.dispose()
    if db.is_sqlite:
        backup_db = sqlite3.connect(source)
        try:
            with sqlite3.connect(db.engine.url.database) as live:
                backup_db.backup(live)
        finally:
            backup_db.close()
        return
    args, env = _libpq_args(db)
    subprocess.run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction", *args, str(source)],
                   check=True, env=env, capture_output=True)
