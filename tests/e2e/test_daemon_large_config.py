"""``monitor run`` with a config large enough to be read in a child process
(``monitor.config_child``): it starts, polls, and its SIGHUP reload rejects a broken file
with the same problem line and takes a good one, as with a small file."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

from monitor.config_child import APART_BYTES
from tests.e2e.test_daemon import Daemon
from tests.support.feeds import rss
from tests.support.http_server import LoopbackServer, Response


def test_a_large_config_is_run_and_reloaded(tmp_path: Path, http_server: LoopbackServer) -> None:
    http_server.route("/feed", Response(body=rss([])))
    config = tmp_path / "monitor.yaml"
    # the sources past the first are never due within the test (1 d interval, up to 30 s of
    # jitter at start-up is for those due now), so only /feed is polled
    others = "".join(
        f"  - {{id: other-{i}, url: 'http://127.0.0.1:9/{i}', interval: 1d}}\n"
        for i in range(APART_BYTES // 50)
    )
    body = (
        textwrap.dedent(f"""
        database: sqlite:///{tmp_path / "db.sqlite"}
        defaults: {{interval: 10s}}
        rules:
          - id: nato
            query: 'الناتو'
            channels: [console]
        channels:
          - id: console
            type: log
        sources:
          - id: mofa
            url: {http_server.url("/feed")}
        """)
        + others
    )
    config.write_text(body, encoding="utf-8")
    assert config.stat().st_size >= APART_BYTES
    daemon = Daemon(config)
    process = daemon.process
    try:
        http_server.wait_for_requests("/feed", 1, timeout=60)
        config.write_text(body.replace("'الناتو'", "'(الناتو'"), encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        rejected = daemon.wait_log(lambda line: line.get("action") == "reload", timeout=60)
        assert rejected["level"] == "error" and "rules[0] (nato).query" in str(rejected["message"])
        assert str(rejected["message"]).endswith(
            f"{config}:6: rules[0] (nato).query: unbalanced parenthesis: expected ')' at column 8"
        )
        config.write_text(body.replace("id: nato", "id: nato2"), encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        daemon.wait_log(lambda line: line.get("message") == "configuration reloaded", timeout=60)
        assert not [line for line in daemon.logs if "reading it here" in str(line.get("message"))]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        daemon.reader.join(timeout=10)
        assert process.stderr is not None
        process.stderr.close()
