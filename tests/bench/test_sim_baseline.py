"""The sim's ``baseline`` option: a source shows that many items at its first poll, and the
items it gains after it fill the feed up to its size (``bench.scale --baseline``)."""

from __future__ import annotations

from bench.sim.server import Settings, Sim


def test_a_small_baseline_then_the_feed_fills_up_to_its_size() -> None:
    sim = Sim(Settings(sources=50, interval=60.0, baseline=3))
    full = Sim(Settings(sources=50, interval=60.0))
    for i, shape in enumerate(sim.shapes):
        assert len(sim.entries(i)) == 3
        assert len(full.entries(i)) == shape.size
    status, first, _ = sim.source(0, {}, sim.start)
    assert status == 200 and b"/news/2<" in first.replace(b'"', b"<") and b"/news/3" not in first
    size = sim.shapes[0].size
    for _ in range(size + 5):
        sim._publish(0, sim.start + 1)
    shown = [k for k, _, _ in sim.entries(0)]
    assert len(shown) == size and shown[0] == size + 7  # the newest first; the oldest pushed out
