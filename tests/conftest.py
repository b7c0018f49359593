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

import csv
import dataclasses
import errno
import functools
import os
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

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


# --- tiers -----------------------------------------------------------------------------
# Every test is one of three tiers, by the directory it lives in (pyproject.toml registers
# the markers; --strict-markers refuses any other): ``unit`` tables for the pure core,
# ``integration`` against real databases, servers and processes, ``e2e`` driving the
# ``monitor`` command. ``./scripts/test --fast`` runs the unit tier and the integration
# tests, except those marked ``slow``, ``browser``, ``corpus`` (every corpus feed) or
# ``postgres`` (a ``db_url`` test's PostgreSQL case: its SQLite case runs). A file may be placed apart from its directory;
# a directory not placed here counts as integration (the safe guess: it is not run as
# a pure table) until it is.
TIERS = {
    **dict.fromkeys(("config", "dates", "fuzz", "listing", "parse", "rules"), "unit"),
    # the files directly under tests/: pure functions, the docs and shipped configs loaded
    **dict.fromkeys(("test_redact.py", "test_compose.py"), "unit"),
    **dict.fromkeys(("test_docs.py", "test_docs_reach.py", "test_docs_render.py"), "unit"),
    # parsing through a loopback server, or in the worker processes
    **dict.fromkeys(("parse/test_arabic.py", "parse/test_hostile.py"), "integration"),
    "parse/test_pool.py": "integration",
    **dict.fromkeys(("console", "delivery", "fetch", "notify", "opml", "ops"), "integration"),
    **dict.fromkeys(("render", "search", "store", "stories"), "integration"),
    **dict.fromkeys(("demo", "e2e"), "e2e"),
    # discovery through loopback sites is integration; the suggestion is pure; the command
    "discover/test_suggest.py": "unit",
    "discover/test_discover_cli.py": "e2e",
    # the side-by-side bench's pure parts: its arithmetic and its simulated web's answers
    **dict.fromkeys(("bench/test_peer_measure.py", "bench/test_peer_web.py"), "unit"),
}


def tier_of(path: Path) -> str:
    """The tier of the test file at ``path``: its own entry in ``TIERS``, else its
    directory's, else integration."""
    relative = path.relative_to(ROOT / "tests")
    return TIERS.get(relative.as_posix()) or TIERS.get(relative.parts[0], "integration")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(tier_of(item.path))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_url") == "postgresql":
            item.add_marker("postgres")  # the same test runs on SQLite in --fast


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    # under pytest-xdist (scripts/test) the browser tests ran in the workers, whose
    # screenshot directories are under this run's base temp (console/conftest.py prints
    # them in a run without workers; MONITOR_SCREENSHOTS names one chosen directory)
    if not getattr(config.option, "tx", None):
        return
    chosen = os.environ.get("MONITOR_SCREENSHOTS")
    if chosen:
        found = [Path(chosen)] if Path(chosen).is_dir() else []
    else:
        base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
        # pytest's `…current` entries are symlinks to one of the numbered directories
        found = sorted(d for d in base.glob("popen-*/console-screenshots*") if not d.is_symlink())
    for directory in found:
        terminalreporter.write_line(f"console screenshots: {directory}")


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


@dataclasses.dataclass(frozen=True)
class CorpusFeed:
    """One file of the corpus's feed index (``feeds/INDEX.tsv``)."""

    repo: str  # the repository it was written for
    path: Path
    category: str  # e.g. "real-world(benchmark);rss2.0/utf-8", "expected-output", "not-a-feed"
    size: int  # bytes

    @property
    def is_feed(self) -> bool:
        """A body to parse (not a parser's expected output, nor a file that is no feed)."""
        return "expected" not in self.category and "not-a-feed" not in self.category


@functools.cache
def corpus_index() -> tuple[CorpusFeed, ...]:
    """Every file of the corpus's feed index, read once per test session; empty without the
    corpus (a test that needs it asks for ``corpus_feeds``, which skips then). A plain
    function as well as a fixture: parametrising reads it at collection time."""
    index = FEEDS_DIR / "INDEX.tsv"
    if not index.is_file():
        return ()
    with index.open(encoding="utf-8") as rows:
        return tuple(
            CorpusFeed(
                row["source_repo"],
                FEEDS_DIR / row["source_repo"].replace("/", "__") / row["path"],
                row["category"],
                int(row["bytes"]),
            )
            for row in csv.DictReader(rows, delimiter="\t")
        )


@pytest.fixture(scope="session")
def corpus_feeds() -> tuple[CorpusFeed, ...]:
    """The corpus's feed index (``corpus_index``); the test is skipped without the corpus."""
    require_corpus()
    return corpus_index()


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


class Engines:
    """Opens stores for one test and disposes of every engine when it ends (the
    ``engines`` fixture): no test holds its own try/finally around ``dispose``."""

    def __init__(self) -> None:
        self.opened: list[AsyncEngine] = []

    async def open(self, url: str, *, migrate: bool = True) -> AsyncEngine:
        """A store at ``url``, migrated unless told not to (``open_store``)."""
        from monitor.store.session import open_store

        return self.adopt(await open_store(url, migrate=migrate))

    def adopt(self, engine: AsyncEngine) -> AsyncEngine:
        """Dispose of ``engine`` (made by another helper) when the test ends."""
        self.opened.append(engine)
        return engine

    async def dispose(self) -> None:
        for engine in reversed(self.opened):
            await engine.dispose()
        self.opened.clear()


@pytest.fixture
async def engines() -> AsyncIterator[Engines]:
    """The test's engine factory: ``await engines.open(db_url)``; all disposed after."""
    made = Engines()
    try:
        yield made
    finally:
        await made.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    return str(request.getfixturevalue("pg_url"))
