"""The per-source counters: prometheus-client's exposition, byte for byte, in bounded memory."""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Iterator

import pytest
from prometheus_client import Counter, generate_latest, metrics
from prometheus_client.parser import text_string_to_metric_families

from monitor.ops.metrics import Metrics
from monitor.ops.source_counters import SourceCounter, SourceRows
from monitor.pipeline import PollOutcome

# (source, result, amount): repeats, a second result, a large and a fractional count, and
# a source id a label value must escape (the config allows only slugs; the counter does not
# rely on it)
CALLS = [
    ("mofa", "ok", 1.0),
    ("agency", "unchanged", 1.0),
    ("mofa", "failed", 1.0),
    ("mofa", "ok", 1.0),
    ('odd"id\\with\nbreaks', "unchanged", 2.5),
    ("agency", "ok", 12_345_678.0),
    ("agency", "unchanged", 0.0),
]


@pytest.fixture(params=[True, False], ids=["created", "no-created"])
def created_series(request: pytest.FixtureRequest) -> Iterator[bool]:
    if not request.param:
        metrics.disable_created_metrics()
    try:
        yield request.param
    finally:
        metrics.enable_created_metrics()


def _parsed(text: bytes) -> list[tuple[str, str, str, list[tuple[str, dict[str, str], float]]]]:
    return [
        (f.name, f.documentation, f.type, [(s.name, s.labels, s.value) for s in f.samples])
        for f in text_string_to_metric_families(text.decode())
    ]


def test_exposition_is_prometheus_clients(
    created_series: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # both stamp a series' creation with time.time(): the same readings, the same text
    clock = [0.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    rows = SourceRows()
    ours = SourceCounter(
        "polls", "Polls, by result", rows, label="result", results=("ok", "unchanged", "failed")
    )
    plain = SourceCounter("stored", 'New "releases"\\ stored\nby source', rows)
    theirs = Counter("polls", "Polls, by result", ["source", "result"], registry=None)
    theirs_plain = Counter(
        "stored", 'New "releases"\\ stored\nby source', ["source"], registry=None
    )
    for second, (source, result, amount) in enumerate(CALLS):
        clock[0] = 1_796_658_170.8130531 + second
        theirs.labels(source, result).inc(amount)
        ours.inc(source, amount, result=result)
        if result != "failed":
            theirs_plain.labels(source).inc(amount)
            plain.inc(source, amount)
    for mine, reference in ((ours, theirs), (plain, theirs_plain)):
        expected = generate_latest(reference)
        assert mine.text() == expected
        assert generate_latest(mine) == expected  # the registry's path: collect()
        assert _parsed(mine.text()) == _parsed(expected)
    assert (b"_created" in ours.text()) is created_series


def test_a_result_that_is_not_counted_is_refused() -> None:
    counter = SourceCounter("polls", "Polls", SourceRows(), label="result", results=("ok",))
    with pytest.raises(ValueError, match="ok"):
        counter.inc("mofa", result="late")
    with pytest.raises(ValueError, match="non-negative"):
        counter.inc("mofa", -1.0, result="ok")
    assert counter.text() == generate_latest(
        Counter("polls", "Polls", ["source", "result"], registry=None)
    )


def test_the_scrape_is_the_registrys_text() -> None:
    """``/metrics`` (``exposition``) writes what ``generate_latest`` of the registry does,
    families in the order they were declared."""
    m = Metrics()
    m.record_poll(PollOutcome("mofa", ok=True, entries=3, new=2, skipped=1), 0.3)
    m.record_poll(PollOutcome("mofa", ok=True, not_modified=True), 0.1)
    m.record_poll(PollOutcome("agency", ok=False, error="timeout"), 30.0)
    m.record_alert("hook", "sent")
    text = m.exposition()
    assert text == generate_latest(m.registry)
    names = [f.name for f in text_string_to_metric_families(text.decode())]
    assert names[:4] == [
        "monitor_polls",
        "monitor_polls_created",
        "monitor_poll_duration_seconds",
        "monitor_poll_duration_seconds_created",
    ]
    assert names.index("monitor_releases_stored") < names.index("monitor_items_skipped")
    assert names.index("monitor_items_skipped") < names.index("monitor_alerts")
    assert names[-1] == "monitor_metrics_refreshed_timestamp_seconds"


def _held(record: object, sources: list[str]) -> int:
    """Bytes still allocated after every source had three results, releases and skips."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for result in ("unchanged", "ok", "failed"):
            for source in sources:
                record(source, result)  # type: ignore[operator]
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()


def test_per_source_memory_is_bounded() -> None:
    """A few hundred bytes a source, not prometheus-client's object a series (~1.2 KB a
    source with these figures: 100,000 sources would hold 120 MB)."""
    sources = [f"source-{i}" for i in range(5_000)]
    m = Metrics()

    def ours(source: str, result: str) -> None:
        ok, unchanged = result != "failed", result == "unchanged"
        m.record_poll(
            PollOutcome(source, ok=ok, not_modified=unchanged, new=int(ok), skipped=1), 0.01
        )

    polls = Counter("p", "p", ["source", "result"], registry=None)
    stored = Counter("r", "r", ["source"], registry=None)
    skipped = Counter("s", "s", ["source"], registry=None)

    def theirs(source: str, result: str) -> None:
        polls.labels(source, result).inc()
        stored.labels(source).inc()
        skipped.labels(source).inc()

    held, reference = _held(ours, sources), _held(theirs, sources)
    assert held / len(sources) < 300
    assert held * 5 < reference
