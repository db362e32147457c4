"""A throwaway PostgreSQL server for tests: Debian's binaries, a temporary folder, a free port on 127.0.0.1."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .servers import free_port

#: Where Debian's `postgresql` package puts its binaries (initdb is not on PATH there).
SEARCH = ["/usr/local/bin", *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]


def find_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    on_path = shutil.which("initdb")
    candidates = ([str(Path(on_path).resolve().parent)] if on_path else []) + SEARCH
    for folder in candidates:
        if all(os.access(Path(folder) / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    return None


def _as_user() -> tuple[list[str], str | None]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` (or `nobody`) user."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"], name
    raise RuntimeError("running as root without a postgres or nobody user to run PostgreSQL as")


@contextlib.contextmanager
def postgres_server(binaries: Path) -> Iterator[str]:
    """Start a server in a temporary folder; yields its SQLAlchemy URL; stops it and removes the folder."""
    prefix, user = _as_user()
    folder = Path(tempfile.mkdtemp(prefix="arena-pg-"))
    data, log = folder / "data", folder / "server.log"
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    port = free_port()
    run = lambda *args: subprocess.run([*prefix, *map(str, args)], check=True, capture_output=True,  # noqa: E731
                                       timeout=120)
    try:
        run(binaries / "initdb", "-D", data, "-U", "arena", "-A", "trust", "-E", "UTF8", "--no-sync")
        run(binaries / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "start",
            "-o", f"-p {port} -h 127.0.0.1 -k {folder} -F")
        try:
            yield f"postgresql+psycopg://arena@127.0.0.1:{port}/postgres"
        finally:
            run(binaries / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server_url: str, name: str) -> str:
    """Create database `name` on the server; returns its URL."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
