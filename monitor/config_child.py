"""Loading a large config file in a short-lived child process, for the daemon.

Reading and validating 100,000 sources makes ~500 MB of short-lived objects (the YAML
nodes, the lines of every key, the raw tree, pydantic's intermediate values) among the
~1 KB a source that stays. Freed, that memory is still the daemon's: pymalloc's arenas are
pinned by the long-lived models made among the garbage (a daemon at 100,000 sources held
~470 MB before its first poll). Here the child reads, validates and checks the file, with
the same ``read_config`` and ``check_parts`` every command uses, and hands back the result
pickled; unpickling makes only the objects that stay, so the daemon's heap holds the
config and not its parse (bench/README.md, issue 23).

The problems are the child's ``ConfigError`` lines, unchanged. A file under
``APART_BYTES`` is read in this process: its garbage is small, and a child costs ~0.5 s
of imports. If the child fails for any other reason (killed, out of memory), the file is
read in this process, as before.
"""

from __future__ import annotations

import logging
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from monitor.config.load import Loaded, read_config
from monitor.config.model import Config, Source
from monitor.errors import ConfigError
from monitor.part_checks import check_parts

log = logging.getLogger("monitor.config")

# ~2,500 of the sim's sources: below it the parse's garbage is a few MB
APART_BYTES = 200_000


def read_config_apart(path: Path | str, *, apart_bytes: int = APART_BYTES) -> Loaded:
    """``read_config(path, parts=check_parts)``, in a child when the file is large."""
    path = Path(path)
    try:
        large = path.stat().st_size >= apart_bytes
    except OSError:
        large = False  # read_config says what is wrong with it
    if large:
        outcome = _in_child(path)
        if isinstance(outcome, Loaded):
            return outcome
        if outcome is not None:
            raise ConfigError(outcome)
    return read_config(path, parts=check_parts)


def _in_child(path: Path) -> Loaded | list[str] | None:
    """The child's ``Loaded``, or its problems, or None when it gave neither."""
    command = [sys.executable, "-m", "monitor.config_child", str(path)]
    try:
        # the environment is this process's: ${VAR}, MONITOR_DATABASE_URL and the size cap
        done = subprocess.run(command, capture_output=True, check=False)  # noqa: S603
        if done.returncode == 0:
            kind, value = pickle.loads(done.stdout)  # noqa: S301 (our own child's output)
            if kind == "ok" and isinstance(value, Loaded):
                return value
            if kind == "problems" and isinstance(value, list):
                return [str(line) for line in value]
        problem = " ".join(done.stderr.decode(errors="replace").split())[-300:]
    except (OSError, pickle.UnpicklingError, ValueError, TypeError, EOFError) as exc:
        problem = str(exc)
    log.warning(
        "config read in a child process failed, reading it here: %s",
        problem or "no output",
        extra={"action": "config"},
    )
    return None


def share_equal_values(config: Config) -> None:
    """Make the sources' equal values one object each: the set of keys a source wrote
    (``{id, url}`` for most), a ``select`` many sources repeat, an interval or a language
    written on many. Pickling keeps what is shared shared, so the daemon holds one of each
    instead of one a source (~350 B a source at 100,000).

    Only in the child, on a config no one else holds yet: ``__dict__`` is written in place
    (the models are frozen), each value replaced by one equal to it. pydantic copies a
    model's key set before it changes one (``model_copy``), so a shared set is never
    changed under another model."""
    shared: dict[tuple[str, Any], Any] = {}
    for source in config.sources:
        values = source.__dict__
        for key in _SHARED_KEYS:
            value = values[key]
            if value is not None:
                values[key] = shared.setdefault((key, value), value)
        written = frozenset(source.__pydantic_fields_set__)
        keys = shared.setdefault(("", written), source.__pydantic_fields_set__)
        object.__setattr__(source, "__pydantic_fields_set__", keys)


# every field but those each source has its own of
_SHARED_KEYS = tuple(key for key in Source.model_fields if key not in ("id", "url", "name"))


def _child(path: str) -> None:
    result: tuple[str, Any]
    try:
        loaded = read_config(path, parts=check_parts)
        share_equal_values(loaded.config)
        result = ("ok", loaded)
    except ConfigError as exc:  # an exception pickles by its args: send the lines
        result = ("problems", list(exc.problems))
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    import gc

    # the child reads once and exits: the read makes long-lived objects only, and a full
    # collection walking all of them each time they grew by a quarter was most of its CPU
    # (10,000 sources: see bench/README, ``cli``); what little cyclic garbage the read
    # leaves is freed when the child exits
    gc.disable()
    _child(sys.argv[1])
