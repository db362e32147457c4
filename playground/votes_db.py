"""Arena votes in a database through SQLAlchemy: SQLite by default, PostgreSQL when a URL names one.

- One vote per battle is the database's rule (a unique constraint on `battle`): of concurrent votes
  for one battle, from any number of processes, one row is written and the others are refused.
- Rows get increasing ids in commit order (PostgreSQL: inserts take a transaction-scoped advisory
  lock; SQLite: writers are serialised by `BEGIN IMMEDIATE`), so a reader that remembers the last id
  it saw reads each new vote once (`votes_after`), never everything again.
- The schema is created and upgraded on start (`migrate`, a version number in `arena_schema`), under
  the same lock, so several processes starting together migrate once. The JSON-lines votes file of
  earlier versions is imported once (its path is remembered in `arena_imports`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from .votes import Contender, Vote, check_outcome, read_votes_file

logger = logging.getLogger(__name__)

#: A Space's persistent storage, when the Space has it.
SPACE_DATA_DIR = Path("/data")
DATABASE_FILE = "arena.db"
#: The advisory lock writers and migrations take on PostgreSQL (any constant shared by all processes).
_PG_LOCK = 0x61_72_65_6E_61  # "arena"
#: Execution option marking a write transaction (SQLite begins it IMMEDIATE).
_WRITE = "arena_write"
_IMPORT_BATCH = 5_000

metadata = MetaData()
schema_table = Table("arena_schema", metadata, Column("version", Integer, nullable=False))
votes_table = Table(
    "arena_votes", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("battle", String(128), nullable=True),  # NULL on votes from before battles had ids
    Column("time", Float, nullable=False),
    Column("a_provider", String(200), nullable=False),
    Column("a_model", String(500), nullable=False),
    Column("b_provider", String(200), nullable=False),
    Column("b_model", String(500), nullable=False),
    Column("outcome", String(16), nullable=False),
    UniqueConstraint("battle", name="uq_arena_votes_battle"),
)
imports_table = Table(
    "arena_imports", metadata,
    Column("source", String(1000), primary_key=True),
    Column("votes", Integer, nullable=False),
    Column("time", Float, nullable=False),
)


def _create_votes(conn: Connection) -> None:
    votes_table.create(conn)


def _create_imports(conn: Connection) -> None:
    imports_table.create(conn)


#: Schema version n is reached by running MIGRATIONS[n - 1]; append, never edit, to change the schema.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_create_votes, _create_imports)
SCHEMA_VERSION = len(MIGRATIONS)


def default_database_url(data_dir: Path = SPACE_DATA_DIR) -> str:
    """SQLite under `/data` when the host has persistent storage there (a Space's), else under `./data`."""
    folder = data_dir if data_dir.is_dir() and os.access(data_dir, os.W_OK) else Path("data").absolute()
    return f"sqlite:///{folder / DATABASE_FILE}"


def normalise_url(url: str) -> str:
    """`postgres://` and `postgresql://` use the psycopg 3 driver (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def redacted(url: str) -> str:
    """The URL without its password, for logs."""
    return make_url(url).render_as_string(hide_password=True)


class VoteDatabase:
    """The votes table of one database; thread-safe (a connection pool), usable from several processes."""

    def __init__(self, url: str, *, votes_file: str | os.PathLike | None = None, migrate: bool = True) -> None:
        self.url = normalise_url(url)
        self.engine = _engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if migrate:
            self.migrate()
            if votes_file is not None:
                self.import_file(votes_file)

    def close(self) -> None:
        self.engine.dispose()

    # -- schema -------------------------------------------------------------------------------
    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return _version(conn)

    def migrate(self, target: int = SCHEMA_VERSION) -> int:
        """Create or upgrade the schema to `target`; returns the version found before."""
        with self._writing() as conn:
            schema_table.create(conn, checkfirst=True)
            found = _version(conn)
            for version in range(found + 1, target + 1):
                MIGRATIONS[version - 1](conn)
                logger.info("Arena database %s: schema version %d", redacted(self.url), version)
            if target > found:
                conn.execute(schema_table.delete())
                conn.execute(insert(schema_table).values(version=target))
        return found

    def import_file(self, path: str | os.PathLike) -> int:
        """Import a JSON-lines votes file once (later calls for the same path do nothing); returns votes added.

        A battle already in the database keeps its vote; a battle twice in the file keeps its first.
        """
        source = f"jsonl:{Path(path).resolve()}"
        if not Path(path).is_file():
            return 0
        with self._writing() as conn:
            if conn.execute(select(imports_table.c.source).where(imports_table.c.source == source)).first():
                return 0
            before = _count(conn)
            rows = [_values(vote) for vote in read_votes_file(path)]
            for start in range(0, len(rows), _IMPORT_BATCH):  # in file order: ids keep the order Elo used
                conn.execute(self._insert_ignoring_duplicates(), rows[start:start + _IMPORT_BATCH])
            added = _count(conn) - before
            conn.execute(insert(imports_table).values(source=source, votes=added, time=time.time()))
        logger.info("Imported %d arena votes from %s into the database", added, path)
        return added

    # -- votes --------------------------------------------------------------------------------
    def add(self, vote: Vote) -> bool:
        """Write the vote unless its battle already has one; True if written (one statement, one commit)."""
        check_outcome(vote.outcome)
        with self._writing() as conn:
            inserted = self._insert_ignoring_duplicates().returning(votes_table.c.id)
            return conn.execute(inserted, _values(vote)).first() is not None

    def votes_after(self, last_id: int, *, batch: int = 50_000) -> Iterator[tuple[int, Vote]]:
        """(id, vote) of every vote with an id above `last_id`, in id order, read `batch` rows at a time."""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(select(votes_table).where(votes_table.c.id > last_id)
                                    .order_by(votes_table.c.id).limit(batch)).all()
            for row in rows:
                yield row.id, Vote(Contender(row.a_provider, row.a_model), Contender(row.b_provider, row.b_model),
                                   row.outcome, row.time, row.battle or "")
            if len(rows) < batch:
                return
            last_id = rows[-1].id

    def count(self) -> int:
        with self.engine.connect() as conn:
            return _count(conn)

    def _insert_ignoring_duplicates(self):
        """INSERT ... ON CONFLICT (battle) DO NOTHING: a battle's first vote stands."""
        dialect = sqlite if self.is_sqlite else postgresql
        return dialect.insert(votes_table).on_conflict_do_nothing(index_elements=["battle"])

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction that holds the database's writer lock until it commits."""
        with self.engine.execution_options(**{_WRITE: True}).begin() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
            yield conn


def _values(vote: Vote) -> dict:
    return {"battle": vote.battle or None, "time": vote.time, "a_provider": vote.a.provider, "a_model": vote.a.model,
            "b_provider": vote.b.provider, "b_model": vote.b.model, "outcome": vote.outcome}


def _count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(votes_table)).scalar_one()


def _version(conn: Connection) -> int:
    if not conn.dialect.has_table(conn, schema_table.name):
        return 0
    return conn.execute(select(schema_table.c.version)).scalar() or 0


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60})
    _serialise_sqlite_writers(engine)
    return engine


def _serialise_sqlite_writers(engine: Engine) -> None:
    """WAL (readers never wait for the writer), and write transactions start with `BEGIN IMMEDIATE`:
    writers queue for the write lock up front (waiting up to the busy timeout) instead of failing
    when two transactions that began as readers both try to write."""
    lock = threading.Lock()

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        with lock:  # switching to WAL takes an exclusive lock: one connection at a time
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout = 60000")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")
