"""Counters labelled by source, held in columns: 100,000 sources' series in ~17 MB.

prometheus-client keeps a child object per label set (its value, its lock, its creation
time, the label tuple and its dict entry: ~570 B), so the per-source counters of a daemon
at 100,000 sources held 60–120 MB, and writing them took ~4 s of CPU a scrape (here:
~170 B a source and 0.6 s, ``bench/bench_metrics.py``). A source is a row number (one
dict, shared by the families) and a family is three arrays:

- ``counts``: a float a (source, result), the counter's value;
- ``created``: when that series first counted (Unix time; 0: never counted). It is
  prometheus-client's ``_created``, kept because scrapers already read it: a counter's
  reset shows as a new creation time;
- ``order``: the series in the order they first counted, as prometheus-client lists its
  children.

The exposition is the one prometheus-client writes for its own ``Counter`` fed the same
calls, byte for byte (``tests/ops/test_metrics.py`` compares them): ``collect`` yields the
usual ``CounterMetricFamily`` for any registry reader, and ``text`` writes the same lines
without a ``Sample`` a series, for the ``/metrics`` path (``Metrics.exposition``).
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Iterator

from prometheus_client import metrics as prometheus_metrics
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

SOURCE = "source"
# prometheus-client's number format (``1.0``, ``1.7966e+09``), typed
_number: Callable[[float], str] = floatToGoString


def _escaped(value: str) -> str:
    """A label value as the text format writes it (prometheus-client's escaping)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _with_created() -> bool:
    """Whether prometheus-client writes ``_created`` series: its switch
    (``PROMETHEUS_DISABLE_CREATED_SERIES``, ``disable_created_metrics``), read each time as
    its own counters do."""
    return bool(getattr(prometheus_metrics, "_use_created", True))


class SourceRows:
    """Source id → row number, shared by the families so that a source costs one entry."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}
        self.ids: list[str] = []

    def row(self, source: str) -> int:
        row = self.rows.get(source)
        if row is None:
            row = self.rows[source] = len(self.ids)
            self.ids.append(source)
        return row


class SourceCounter(Collector):
    """A counter labelled ``source`` and, if ``results`` are given, ``label`` (one of them)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        rows: SourceRows,
        *,
        label: str = "",
        results: tuple[str, ...] = (),
    ) -> None:
        self.name, self.documentation, self.rows = name, documentation, rows
        self.label, self.results = label, results
        self.width = max(len(results), 1)
        self.counts = array("d")
        self.created = array("d")
        self.order = array("I")  # 4 bytes: room for 1,400 million sources

    def inc(self, source: str, amount: float = 1.0, result: str = "") -> None:
        if amount < 0:
            raise ValueError("Counters can only be incremented by non-negative amounts.")
        try:
            column = self.results.index(result) if self.results else 0
        except ValueError:
            raise ValueError(f"{result!r} is not one of {self.results}") from None
        at = self.rows.row(source) * self.width + column
        if at >= len(self.counts):
            room = (at // self.width + 1) * self.width - len(self.counts)
            self.counts.frombytes(bytes(8 * room))
            self.created.frombytes(bytes(8 * room))
        if not self.created[at]:
            self.created[at] = time.time()
            self.order.append(at)
        self.counts[at] += amount

    def collect(self) -> Iterator[CounterMetricFamily]:
        names = [SOURCE, self.label] if self.results else [SOURCE]
        family = CounterMetricFamily(self.name, self.documentation, labels=names)
        with_created = _with_created()
        for at in self.order:
            row, column = divmod(at, self.width)
            source = self.rows.ids[row]
            values = [source, self.results[column]] if self.results else [source]
            created = self.created[at] if with_created else None
            family.add_metric(values, self.counts[at], created=created)
        yield family

    def _affixes(self) -> list[tuple[str, str]]:
        """Per column, what comes before and after the escaped source id inside ``{}``:
        the labels sorted by name, as the text format writes them."""
        if not self.results:
            return [(f'{SOURCE}="', '"')]
        if self.label < SOURCE:
            return [(f'{self.label}="{_escaped(r)}",{SOURCE}="', '"') for r in self.results]
        return [(f'{SOURCE}="', f'",{self.label}="{_escaped(r)}"') for r in self.results]

    def text(self) -> bytes:
        """``generate_latest`` of this collector alone, written from the arrays."""
        doc = self.documentation.replace("\\", r"\\").replace("\n", r"\n")
        total, created = f"{self.name}_total", f"{self.name}_created"
        affixes = self._affixes()
        ids, width, counts = self.rows.ids, self.width, self.counts
        labels: list[str] = []
        lines = [f"# HELP {total} {doc}\n# TYPE {total} counter\n"]
        for at in self.order:
            row, column = divmod(at, width)
            before, after = affixes[column]
            label = f"{{{before}{_escaped(ids[row])}{after}}} "
            labels.append(label)
            lines.append(f"{total}{label}{_number(counts[at])}\n")
        if labels and _with_created():
            lines.append(f"# HELP {created} {doc}\n# TYPE {created} gauge\n")
            lines.extend(
                f"{created}{label}{_number(self.created[at])}\n"
                for label, at in zip(labels, self.order, strict=True)
            )
        return "".join(lines).encode()
