"""py3langid's model, kept decompressed on disk and mapped into memory.

py3langid ships its model as an LZMA-compressed ``.npz``: every process that loads it
spends about 0.4 s decompressing it and holds all 78 MB (a 39 MB DFA table, a 28 MB
float16 matrix) for good, though a text reads a few of the table's rows. So the first
load writes the arrays as plain ``.npy`` files under the user's cache directory (in a
directory named by a hash of the shipped model, filled beside it and renamed into place:
another process never sees half of it), and every load maps them read-only: about 0.05 s,
only the pages a text touches count in a process's memory, and the daemon and its parse
workers share them through the page cache.

The identifier built from the mapped arrays is py3langid's own class over the same
values (the same dtypes; the DFA walk reads Python lists and buffers of the same ints as
py3langid's loader gives), so its answers are the same bit for bit. When the cache
cannot be written (a read-only home), the model is loaded the way py3langid loads it; a
damaged copy is written again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

_STALE_SECONDS = 3600  # a folder being written for this long was left by a dead process


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/monitor``, else ``~/.cache/monitor``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "monitor"


def load_identifier(cache: Path | None = None) -> Any:
    """py3langid's ``LanguageIdentifier`` (normalised probabilities) over its shipped model,
    mapped from ``cache`` (default ``cache_root()``), written there first if missing."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    source = Path(MODEL_DIR) / MODEL_FILE
    root = cache or cache_root()
    try:
        folder = _cached(source, root)
        try:
            arrays = _mapped(folder)
        except (ValueError, EOFError):  # damaged: e.g. renamed before the disk had it all
            shutil.rmtree(folder, ignore_errors=True)
            arrays = _mapped(_cached(source, root))
    except (OSError, ValueError, EOFError):
        return LanguageIdentifier.from_model_file(source, norm_probs=True)
    ptc, pc, classes, nextmove, row, out = arrays
    return LanguageIdentifier(ptc, pc, classes, nextmove, out, norm_probs=True, tk_row=row)


def _cached(source: Path, root: Path) -> Path:
    """The folder of ``source``'s arrays under ``root``, written there if it is not."""
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:24]
    folder = root / f"langid-{digest}"
    if folder.is_dir():
        return folder
    import numpy as np
    from py3langid.modelio import load_model

    ptc, pc, classes, nextmove, row, out = load_model(source)
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".langid-*"):  # left by a process that died writing (66 MB)
        if time.time() - stale.stat().st_mtime > _STALE_SECONDS:
            shutil.rmtree(stale, ignore_errors=True)
    building = Path(tempfile.mkdtemp(prefix=".langid-", dir=root))
    try:
        arrays = {
            "ptc": ptc,
            "pc": pc,
            "classes": np.array(classes),
            "nextmove": np.frombuffer(nextmove, dtype=_dtype(nextmove.itemsize)),
            "nextmove_row": np.frombuffer(row, dtype=_dtype(row.itemsize)),
            "out_feat": np.asarray(out, dtype=np.int32),
        }
        for name, array in arrays.items():
            np.save(building / f"{name}.npy", array, allow_pickle=False)
        os.rename(building, folder)  # atomic; fails when another process got there first
    except OSError:
        if not folder.is_dir():
            raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return folder


def _dtype(itemsize: int) -> Any:
    import numpy as np

    return {2: np.uint16, 4: np.uint32, 8: np.uint64}[itemsize]


def _mapped(folder: Path) -> tuple[Any, Any, list[str], Any, Any, list[int]]:
    """The model's arrays as py3langid's loader gives them, the two big ones mapped."""
    import numpy as np

    def load(name: str, mmap: bool = False) -> Any:
        path = folder / f"{name}.npy"
        if mmap:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        return np.load(path, allow_pickle=False)

    # plain ndarrays over the mapping: a memmap subclass would leak into py3langid's results
    ptc = load("ptc", mmap=True).view(np.ndarray)
    nextmove = memoryview(load("nextmove", mmap=True).view(np.ndarray))
    # the per-state arrays are small and walked once per byte: Python ints, as py3langid's
    row, out = load("nextmove_row"), load("out_feat")
    if ptc.dtype != np.float16 or nextmove.format not in "HIL" or len(out) != len(row):
        raise ValueError(f"{folder}: not a py3langid model")
    return ptc, load("pc"), load("classes").tolist(), nextmove, row.tolist(), out.tolist()
