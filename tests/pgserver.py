"""Throwaway PostgreSQL server for the test suite.

Starts a private PostgreSQL cluster from the server binaries installed on the
machine (Debian: ``/usr/lib/postgresql/<ver>/bin``), in a temporary directory,
listening on a Unix socket only, and removes it again afterwards.

PostgreSQL refuses to run as root. When the tests run as root, ``initdb`` and
``postgres`` run as an unprivileged user instead (``$PG_USER``, else the
``postgres`` system user of the Debian package, else ``nobody``) via
:mod:`subprocess`'s ``user=``/``group=`` arguments, and the cluster's
directory is owned by that user.

Usage::

    with PostgresServer(tmp_path) as pg:
        url = pg.create_database("app_test")
        engine = sqlalchemy.create_engine(url)
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

__all__ = ["PostgresServerError", "PostgresServer", "find_pg_bin"]

_PG_TOOLS = ("initdb", "pg_ctl", "postgres")
_SUPERUSER = "postgres"
_PORT = 5432
# The socket path ("<dir>/.s.PGSQL.5432") must fit in sockaddr_un.sun_path.
_MAX_SOCKET_PATH = 100
_START_TIMEOUT = 60  # seconds; a healthy start takes well under one
_LOG_TAIL_LINES = 40


class PostgresServerError(RuntimeError):
    """The test PostgreSQL server failed to initialise, start or stop."""


def _has_tools(directory: Path) -> bool:
    return all(os.access(directory / tool, os.X_OK) for tool in _PG_TOOLS)


def find_pg_bin() -> Path | None:
    """Return the directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    ``$PG_BIN`` overrides the search. Otherwise the directory that ``initdb``
    on ``PATH`` resolves to (following symlinks, e.g. ``/usr/local/bin/initdb``
    -> ``/usr/lib/postgresql/15/bin``), else the newest
    ``/usr/lib/postgresql/*/bin``. Returns ``None`` if nothing is found.
    """
    override = os.environ.get("PG_BIN")
    if override:
        path = Path(override)
        return path if _has_tools(path) else None

    initdb = shutil.which("initdb")
    if initdb:
        directory = Path(initdb).resolve().parent
        if _has_tools(directory):
            return directory

    def version_key(p: str) -> tuple[int, ...]:
        ver = Path(p).parent.name
        return tuple(int(x) for x in ver.split(".") if x.isdigit())

    for candidate in sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True
    ):
        if _has_tools(Path(candidate)):
            return Path(candidate)
    return None


def _run_as_user() -> pwd.struct_passwd | None:
    """The account to run the server as, or ``None`` to run as ourselves."""
    if os.geteuid() != 0:
        return None
    names = [n for n in (os.environ.get("PG_USER"), "postgres", "nobody") if n]
    for name in names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid != 0:
            return entry
    raise PostgresServerError(
        "running as root and no unprivileged user found to run PostgreSQL "
        f"(tried {', '.join(names)}); set PG_USER"
    )


def _traversable_by(path: Path, user: pwd.struct_passwd) -> bool:
    """True if every ancestor of *path* grants *user* search (x) permission."""
    groups = {user.pw_gid} | set(os.getgrouplist(user.pw_name, user.pw_gid))
    for directory in [path, *path.parents]:
        st = directory.stat()
        if st.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


class PostgresServer:
    """A private PostgreSQL cluster reachable only through a Unix socket.

    *base_dir* is a parent directory; the cluster lives in a fresh
    subdirectory of it, which :meth:`stop` deletes. If the unprivileged server
    user cannot reach *base_dir* (e.g. pytest's 0700 ``/tmp/pytest-of-root``),
    the subdirectory is created under the system temp dir instead.
    """

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = Path(base_dir)
        self.bin_dir: Path | None = find_pg_bin()
        self.user: pwd.struct_passwd | None = None
        self.work_dir: Path | None = None
        self.data_dir: Path | None = None
        self.socket_dir: Path | None = None
        self.log_file: Path | None = None
        self._extra_dirs: list[Path] = []  # dirs outside work_dir to remove
        self._owner_pid = os.getpid()
        self._started = False
        self._atexit_registered = False
        self._proc: subprocess.Popen[bytes] | None = None

    # -- helpers -----------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("PG") and not k.startswith("LC_")
        }
        env["LANG"] = env["LC_ALL"] = "C"
        if self.user is not None:
            env["HOME"] = str(self.work_dir)
            env["USER"] = env["LOGNAME"] = self.user.pw_name
        return env

    def _run(
        self, args: list[str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool (as the unprivileged user when root)."""
        assert self.bin_dir is not None and self.work_dir is not None
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {
                "user": self.user.pw_uid,
                "group": self.user.pw_gid,
                "extra_groups": [],
            }
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.work_dir,
            env=self._env(),
            timeout=timeout,
            check=False,
            **kwargs,  # type: ignore[arg-type]
        )

    def _chown(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """Last *lines* lines of the server log (empty if none yet)."""
        if self.log_file is None or not self.log_file.exists():
            return ""
        text = self.log_file.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _fail(self, what: str, output: str = "") -> PostgresServerError:
        parts = [f"PostgreSQL {what}"]
        if output.strip():
            parts.append(f"--- command output ---\n{output.strip()}")
        tail = self.log_tail()
        if tail:
            parts.append(f"--- server log tail ({self.log_file}) ---\n{tail}")
        return PostgresServerError("\n".join(parts))

    def _make_dirs(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        parent = self.base_dir.resolve()
        if self.user is not None and not _traversable_by(parent, self.user):
            parent = Path(tempfile.gettempdir())
        self.work_dir = Path(tempfile.mkdtemp(prefix="pg-", dir=parent))
        os.chmod(self.work_dir, 0o700)
        self._chown(self.work_dir)
        self.data_dir = self.work_dir / "data"
        self.log_file = self.work_dir / "server.log"

        socket_dir = self.work_dir / "s"
        if len(f"{socket_dir}/.s.PGSQL.{_PORT}.lock") < _MAX_SOCKET_PATH:
            socket_dir.mkdir(mode=0o700)
        else:
            socket_dir = Path(tempfile.mkdtemp(prefix="pgs-", dir="/tmp"))
            self._extra_dirs.append(socket_dir)
        self._chown(socket_dir)
        self.socket_dir = socket_dir

    # -- public API --------------------------------------------------------

    def start(self) -> None:
        """initdb a fresh cluster and start it; returns once it accepts connections."""
        if self._started:
            return
        if self.bin_dir is None:
            raise PostgresServerError(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; "
                "install postgresql-15 or set PG_BIN"
            )
        self.user = _run_as_user()
        self._owner_pid = os.getpid()
        self._make_dirs()
        assert self.data_dir and self.socket_dir and self.log_file
        if not self._atexit_registered:
            atexit.register(self._atexit_stop)
            self._atexit_registered = True
        self._started = True  # from here on, stop() must clean up
        try:
            self._initdb()
            self._spawn_postmaster()
        except BaseException:
            self.stop()
            raise

    def _initdb(self) -> None:
        assert self.data_dir is not None and self.socket_dir is not None
        try:
            res = self._run(
                [
                    "initdb",
                    "-D", str(self.data_dir),
                    "-A", "trust",
                    "-U", _SUPERUSER,
                    "--encoding", "UTF8",
                    "--locale", "C",
                    "--no-sync",
                    "--no-instructions",
                ],
                timeout=_START_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else (exc.output or "")
            raise self._fail(f"initdb timed out after {_START_TIMEOUT}s", out) from exc
        if res.returncode != 0:
            raise self._fail(f"initdb failed (exit {res.returncode})", res.stdout)

        settings = {
            "listen_addresses": "''",
            "port": str(_PORT),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "unix_socket_permissions": "0777",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "128MB",
            "huge_pages": "off",
            "logging_collector": "off",
            "log_min_messages": "warning",
        }
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write("\n# --- tests/pgserver.py ---\n")
            for key, value in settings.items():
                fh.write(f"{key} = {value}\n")

    def _spawn_postmaster(self) -> None:
        """Run ``postgres`` as our own child and wait until it is ready.

        Not ``pg_ctl start``: that leaves the postmaster orphaned, so after
        shutdown it lingers as a zombie until PID 1 reaps it (seconds, in
        containers). As our child we reap it at once, and notice a crash
        during startup immediately.
        """
        assert self.bin_dir and self.data_dir and self.log_file and self.work_dir
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        cmd = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir)]
        setpriv = shutil.which("setpriv")
        if setpriv and threading.current_thread() is threading.main_thread():
            # If the test process dies without running atexit (SIGKILL,
            # SIGTERM), the kernel sends the postmaster SIGQUIT (immediate
            # shutdown). Only from the main thread: the signal fires when the
            # *thread* that started the server exits.
            cmd = [setpriv, "--pdeathsig", "QUIT", "--", *cmd]
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.work_dir,
                env=self._env(),
                start_new_session=True,  # keep terminal Ctrl-C away from it
                **kwargs,  # type: ignore[arg-type]
            )
        pid_file = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            code = self._proc.poll()
            if code is not None:
                raise self._fail(f"server exited during startup (exit code {code})")
            try:
                lines = pid_file.read_text().splitlines()
            except OSError:
                lines = []
            # Line 1: postmaster PID; line 8: status, "ready" once accepting
            # connections (what ``pg_ctl start -w`` waits for).
            if len(lines) >= 8 and lines[0].strip() == str(self._proc.pid) and lines[7].strip() == "ready":
                return
            if time.monotonic() > deadline:
                raise self._fail(f"server did not become ready within {_START_TIMEOUT}s")
            time.sleep(0.01)

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL for *dbname* on this server (psycopg 3, Unix socket)."""
        if self.socket_dir is None:
            raise PostgresServerError("server not started")
        return f"postgresql+psycopg://{_SUPERUSER}@/{dbname}?host={self.socket_dir}"

    def conninfo(self, dbname: str = "postgres") -> dict[str, object]:
        """Keyword arguments for ``psycopg.connect`` to *dbname*."""
        if self.socket_dir is None:
            raise PostgresServerError("server not started")
        return {"host": str(self.socket_dir), "port": _PORT, "user": _SUPERUSER, "dbname": dbname}

    def create_database(self, name: str) -> str:
        """CREATE DATABASE *name* and return its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(**self.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> None:
        """Fast-shutdown the server and delete its directory. Idempotent."""
        if not self._started:
            return
        self._started = False
        try:
            proc, self._proc = self._proc, None
            if proc is not None and proc.poll() is None:
                # SIGINT = "fast" shutdown (pg_ctl stop -m fast); SIGQUIT =
                # "immediate"; SIGKILL if even that hangs.
                for sig, wait in ((signal.SIGINT, 30), (signal.SIGQUIT, 10), (signal.SIGKILL, 10)):
                    try:
                        proc.send_signal(sig)
                        proc.wait(timeout=wait)
                        break
                    except subprocess.TimeoutExpired:
                        continue
        finally:
            for directory in [self.work_dir, *self._extra_dirs]:
                if directory is not None:
                    shutil.rmtree(directory, ignore_errors=True)
            self._extra_dirs.clear()
            if self._atexit_registered:
                atexit.unregister(self._atexit_stop)
                self._atexit_registered = False

    def _atexit_stop(self) -> None:
        # Forked children (multiprocessing) inherit the registration; only the
        # process that started the server may stop it.
        if os.getpid() == self._owner_pid:
            self.stop()

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._started else "stopped"
        return f"<PostgresServer {state} socket_dir={self.socket_dir}>"
