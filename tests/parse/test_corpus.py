"""Every file of the shared corpus (feeds written by others) through parse and identity.

Each feed must parse without an exception, yield exactly as many entries as plain
feedparser finds (a JSON Feed: its items), and give one identity per distinct entry — or,
where the publisher repeats GUIDs, say so in a warning and give distinct identities in the
``content`` mode the warning suggests. The one ``not-a-feed`` file must be a ParseError.
The work runs in a process pool (feedparser is pure Python; the corpus is 50 MB).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest

from tests.conftest import FEEDS_DIR, corpus_index, require_corpus
from tests.parse.corpus_worker import Examined, examine


def corpus_files() -> list[tuple[str, str]]:
    """(path, category) of every feed-like file in INDEX.tsv; expected-output JSON is not.
    Without the corpus, one placeholder, whose tests are skipped (``require_corpus``)."""
    files = [(str(f.path), f.category) for f in corpus_index() if "expected" not in f.category]
    return files or [(str(FEEDS_DIR / "INDEX.tsv"), "missing")]


FILES = corpus_files()
pytestmark = pytest.mark.corpus  # every feed of the corpus, examined in worker processes


@pytest.fixture(scope="module")
def examined() -> Iterator[dict[str, Examined]]:
    require_corpus()
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=context) as pool:
        # biggest first, so the pool does not end waiting on one large file
        ordered = sorted(FILES, key=lambda f: -os.path.getsize(f[0]))
        results = pool.map(examine, [p for p, _ in ordered], ["jsonfeed" in c for _, c in ordered])
        yield {r.path: r for r in results}


def test_the_corpus_is_all_there() -> None:
    require_corpus()
    assert len(FILES) > 240
    assert all(os.path.exists(path) for path, _ in FILES)


@pytest.mark.parametrize(
    ("path", "category"), FILES, ids=[f"{os.path.basename(p)}" for p, _ in FILES]
)
def test_corpus_file(examined: dict[str, Examined], path: str, category: str) -> None:
    result = examined[path]
    if "not-a-feed" in category:
        assert result.error and result.error.startswith("not a feed")
        return
    assert result.error is None
    assert result.entries == result.reference
    if result.distinct_identities != result.distinct_entries:
        assert any("identity mode" in w for w in result.warnings)
        assert result.distinct_by_content == result.distinct_entries
