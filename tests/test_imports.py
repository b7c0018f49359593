"""What a process that fetches imports: not httpx's command-line client (click, rich and
pygments, ~6 MB of every daemon), which httpx loads whenever they are installed."""

from __future__ import annotations

import subprocess
import sys


def test_the_fetch_stack_leaves_httpx_command_line_client_out() -> None:
    code = (
        "import sys, monitor.runtime, monitor.fetch.client, httpx\n"
        "print(sorted(m for m in ('rich', 'pygments', 'click', 'httpx._main') if sys.modules.get(m)))\n"
        "print(callable(httpx.main))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["[]", "True"]
