"""monitor: watches government and ministry news and alerts operators on matches."""

import sys

__version__ = "0.1.0"

# httpx's package imports its command-line client (``httpx._main``) whenever click and rich
# are installed, as they are here (typer's): click, rich and pygments, ~6 MB of every
# process that fetches and ~0.1 s of its imports, for a client monitor never runs. A None
# entry makes that one import fail, and httpx defines its stub ``httpx.main`` instead.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
