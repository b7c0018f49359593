"""Shared fixtures: loopback HTTP server, databases, paths to the shared corpus.

The corpus (feeds and releases written by others) lives in the project's shared documents,
``../shared/corpus`` beside the checkout. A fresh clone has none: every test that needs it
is skipped then, with one line in pytest's summary saying where it is expected, and the
rest of the suite runs. Under ``CI=true`` a missing corpus fails those tests instead.
A test needs it when it asks for the ``corpus`` fixture, calls ``require_corpus()``, or
reads a file under it: each gives a ``FileNotFoundError`` for a path there, which becomes
that skip (under CI it stays the error it is).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.support.http_server import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
SEED_RELEASE = CORPUS / "releases" / "mofa-qa-nato-2019-03-13.ar.txt"
FEEDS_DIR = CORPUS / "feeds"
CORPUS_MISSING = (
    f"the shared corpus is not at {CORPUS} (the project's shared documents, beside the "
    "checkout as ../shared): the tests that read it are skipped"
)


def require_corpus() -> None:
    """Stop the calling test or fixture when the corpus is missing: a ``FileNotFoundError``
    for it, which the hooks below turn into the one skip (a failure under CI)."""
    if not CORPUS.is_dir():
        raise FileNotFoundError(errno.ENOENT, "the shared corpus is missing", str(CORPUS))


def _reads_corpus(error: BaseException) -> bool:
    name = getattr(error, "filename", None)
    return isinstance(error, FileNotFoundError) and bool(name) and SHARED in Path(name).parents


def _skip_without_corpus(error: FileNotFoundError) -> None:
    # raised from this one line, whether a fixture or the test read the corpus (a fixture's
    # own skip would be reported at each test's place), so pytest folds them into one line
    if _reads_corpus(error) and not CORPUS.is_dir() and not os.environ.get("CI"):
        pytest.skip(CORPUS_MISSING)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    except FileNotFoundError as error:
        _skip_without_corpus(error)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    except FileNotFoundError as error:
        _skip_without_corpus(error)
        raise


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def corpus() -> Path:
    require_corpus()
    return CORPUS


# --- databases -------------------------------------------------------------------------
# Every test database is new: a file under tmp_path for SQLite, and for PostgreSQL a
# database created for this session (and dropped at its end) with a schema per test.
import uuid  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _pg_admin() -> object:
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; its URL (psycopg driver)."""
    import psycopg

    name = f"monitor_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = _pg_admin()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    with admin:  # type: ignore[attr-defined]
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with _pg_admin() as admin:  # type: ignore[attr-defined]
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new, empty schema for this test."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:10]}"
    plain = pg_database.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{pg_database}?options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    return str(request.getfixturevalue("pg_url"))
