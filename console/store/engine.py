"""Opening the database: URL checks, SQLite durability settings, schema checks, clear errors.

SQLite runs in WAL mode with `synchronous=FULL` and a busy timeout; write transactions
start with `BEGIN IMMEDIATE` so two writers never deadlock upgrading their locks.
PostgreSQL is reached through psycopg 3. Every driver failure that a user can cause (bad
URL, damaged or foreign file, read-only file, server down) becomes a `StoreError` that
says what is wrong and what to run.
"""

from __future__ import annotations

import ast
import functools
import logging
import select
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    NoSuchModuleError,
    SQLAlchemyError,
)

from console.store.errors import (
    BadDatabaseUrl,
    CorruptDatabase,
    DatabaseUnavailable,
    ForeignDatabase,
    ReadOnlyDatabase,
    SchemaError,
    SealedRecordError,
    StoreError,
)

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger("console.store.engine")

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 5000


def parse_url(url: str) -> URL:
    """Parse a database URL, accepting a bare file path as SQLite."""
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise BadDatabaseUrl(f"cannot read database URL {url!r}: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BadDatabaseUrl(
            f"database URL {url!r} names {backend!r}; use sqlite:///path/to/duty.db "
            "or postgresql+psycopg://user@host/dbname"
        )
    if backend == "postgresql" and parsed.get_driver_name() in ("psycopg2", "default"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise BadDatabaseUrl(f"database URL {url!r} has no file; the duty record must persist")
    return parsed


def make_engine(url: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS,
                server_args: dict[str, Any] | None = None, **kwargs: Any) -> Engine:
    """An engine for the duty record with the durability settings applied on every connection.

    `server_args`: more libpq connection parameters for PostgreSQL (the answer claims'
    engine bounds its connect and its statements tighter than the record's)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if not parsed.query.get("uri") and not database.startswith("file:"):
            parent = Path(database).expanduser().parent
            if not parent.is_dir():
                raise BadDatabaseUrl(f"directory {parent} for the duty record does not exist")
        try:
            engine = create_engine(
                parsed,
                connect_args={"timeout": busy_timeout_ms / 1000, "isolation_level": None},
                **kwargs,
            )
        except (ArgumentError, NoSuchModuleError) as exc:
            raise BadDatabaseUrl(f"cannot use database URL {url!r}: {exc}") from exc
        _sqlite_events(engine, busy_timeout_ms)
        return engine
    try:
        engine = create_engine(parsed, connect_args={"connect_timeout": 5, **(server_args or {})},
                               **kwargs)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise BadDatabaseUrl(f"cannot use database URL {url!r}: {exc}") from exc
    _server_events(engine)
    return engine


def _server_events(engine: Engine) -> None:
    """PostgreSQL: sessions in UTC without JIT and with custom plans, and a check-out that
    drops connections the server closed.

    In UTC, psycopg hands times back with `datetime.UTC` itself, which the review passes
    on as they are (another session zone cost an `astimezone` per time per row).

    SQLAlchemy's `pool_pre_ping` asks the server (a round trip) at every check-out: three
    per call on the call path. A server that restarted or ended our session has sent its
    goodbye and closed the socket, so an idle connection's socket is readable then, and
    that is checked here without a round trip; raising `DisconnectionError` makes the pool
    throw that connection away and open a fresh one. A server that vanished without a word
    (a cut cable) is found by the next statement instead, which fails: the call path then
    journals (nothing lost) and raises the outage alarm.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        try:
            dbapi_conn.execute("SET TIME ZONE 'UTC'")
            # The figures' grouped statements (callers, not legs: a probe per leg) are
            # costed high enough to be JIT-compiled (~110 ms, on a 475 ms month) and, once
            # psycopg prepares them, planned for unknown bounds (a team's month of KPIs,
            # 93,000 legs: 3.3 s; planned with its values and not compiled: 0.57 s).
            dbapi_conn.execute("SET jit = off")
            dbapi_conn.execute("SET plan_cache_mode = force_custom_plan")
        finally:
            dbapi_conn.autocommit = autocommit

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_conn.closed or _has_input(dbapi_conn.fileno()):
            raise DisconnectionError("the server closed this connection while it was idle")


def _has_input(fd: int) -> bool:
    """True if the socket has something to read (an idle session should have nothing)."""
    try:
        readable, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _sqlite_events(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        try:
            cur.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:  # read-only file: reading still works
            log.warning("cannot switch to WAL: %s", exc)
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def classify(exc: BaseException, url: str) -> StoreError:
    """Turn a driver failure into the `StoreError` a user can act on."""
    if isinstance(exc, StoreError):
        return exc
    orig = getattr(exc, "orig", exc)
    message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    where = _safe_url(url)
    lowered = message.lower()
    if "duty record:" in lowered:  # raised by our own triggers
        return SealedRecordError(message)
    if "database or disk is full" in lowered or "no space" in lowered:
        return DatabaseUnavailable(f"{where}: disk full ({message})")
    if "not a database" in lowered or "malformed" in lowered or "file is encrypted" in lowered:
        return CorruptDatabase(
            f"{where} is not a SQLite database or is damaged ({message}); restore it from the "
            "last archive or point --db at the right file"
        )
    if "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        return ReadOnlyDatabase(
            f"{where} cannot be written ({message}); check the file's and directory's "
            "permissions and the disk"
        )
    if "unable to open database" in lowered:
        return ReadOnlyDatabase(f"{where} cannot be opened for writing ({message})")
    if "locked" in lowered or "busy" in lowered:
        return DatabaseUnavailable(f"{where} is locked by another writer ({message})")
    if "does not exist" in lowered and "database" in lowered:
        return BadDatabaseUrl(f"{where}: {message}; create the database first")
    if "password authentication" in lowered or ("role" in lowered and "does not exist" in lowered):
        return BadDatabaseUrl(f"{where}: {message}")
    if isinstance(exc, DBAPIError | SQLAlchemyError | OSError):
        return DatabaseUnavailable(f"{where} cannot be reached ({message})")
    return StoreError(f"{where}: {message}")


def _safe_url(url: str) -> str:
    try:
        return parse_url(url).render_as_string(hide_password=True)
    except StoreError:
        return url


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic configuration kept inside the package, so it works when installed."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def _script_revisions() -> dict[str, tuple[str, ...]]:
    """Every migration's revision and the revisions it follows, read with Alembic."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return {s.revision: tuple(s._all_down_revisions) for s in script.walk_revisions()}


def _declared_revisions() -> dict[str, tuple[str, ...]] | None:
    """The same read from the migration files' literal assignments, without importing Alembic.

    Importing Alembic costs ~0.15 s of the console's 1.0 s cold start, and the schema
    check at every start needs only the head. None when a file isn't plain enough to read
    this way (then Alembic reads them).
    """
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        if path.name.startswith("__"):
            continue
        values: dict[str, Any] = {}
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:
                target: ast.expr | None = None
                if isinstance(node, ast.AnnAssign):
                    target = node.target
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                value = getattr(node, "value", None)
                if isinstance(target, ast.Name) and value is not None:
                    if target.id in ("revision", "down_revision"):
                        values[target.id] = ast.literal_eval(value)
        except (OSError, SyntaxError, ValueError):
            return None
        revision, down = values.get("revision"), values.get("down_revision", ...)
        if not isinstance(revision, str) or down is ...:
            return None
        if down is None:
            found[revision] = ()
        elif isinstance(down, str):
            found[revision] = (down,)
        elif isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
            found[revision] = tuple(down)
        else:
            return None
    return found or None


@functools.cache
def _revisions() -> dict[str, tuple[str, ...]]:
    return _declared_revisions() or _script_revisions()


def head_revision() -> str:
    """The newest schema revision this program knows (one head)."""
    revisions = _revisions()
    followed = {d for downs in revisions.values() for d in downs}
    heads = sorted(set(revisions) - followed)
    if len(heads) != 1:
        raise SchemaError(f"the program's migrations have {len(heads)} heads {heads}; merge them")
    return heads[0]


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision; returns it."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")
    return head_revision()


def current_revision(conn: Any, tables: set[str]) -> str | None:
    """The revision stamped in the database (Alembic's `alembic_version` table), if any."""
    if "alembic_version" not in tables:
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
    stamped = [str(v) for v in rows]
    if len(stamped) > 1:
        raise SchemaError(f"the database is stamped with several revisions {sorted(stamped)}")
    return stamped[0] if stamped else None


def check_schema(engine: Engine, url: str, create: bool) -> None:
    """Refuse a schema this program does not know; create a fresh one if asked and empty.

    Alembic itself is imported only to create or upgrade a schema.
    """
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        current = current_revision(conn, tables)
    head = head_revision()
    if current == head:
        return
    where = _safe_url(url)
    if current is None:
        if tables:
            raise ForeignDatabase(
                f"{where} holds tables {sorted(tables)[:5]} but no duty record; "
                "point --db at the duty record or at a new file"
            )
        if create:
            upgrade(engine)
            log.info("created duty record schema %s in %s", head, where)
            return
        raise SchemaError(f"{where} is empty; run `duty-console db upgrade --db {where}`")
    if current in _revisions():
        raise SchemaError(
            f"{where} has schema {current}, this console needs {head}; "
            f"run `duty-console db upgrade --db {where}` (back up the file first)"
        )
    raise SchemaError(
        f"{where} has schema {current}, which this console does not know (newer program?); "
        "use the console version that wrote it"
    )


def probe_writable(engine: Engine) -> None:
    """Fail early on a read-only SQLite file instead of at the first ring."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
        version = int(conn.execute(text("PRAGMA user_version")).scalar() or 0)
        conn.execute(text(f"PRAGMA user_version = {version}"))  # a write, rolled back
        conn.rollback()
