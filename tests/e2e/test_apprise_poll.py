"""``monitor poll`` with an apprise channel, end to end: the real command posts the story
through Apprise to a loopback receiver; a config without one never imports Apprise."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_startup import config_with, poll, serve_feed
from tests.support.http_server import LoopbackServer, Response


def test_poll_alerts_through_apprise_and_only_loads_it_when_configured(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    serve_feed(http_server)
    plain = config_with(tmp_path, http_server)
    result, loaded = poll(plain, tmp_path / "plain.json")
    assert result.returncode == 0, result.stderr
    assert not {m for m in loaded["modules"] if m.split(".")[0] in ("apprise", "requests")}
    assert "monitor.notify.apprise" not in loaded["modules"]

    (tmp_path / "db.sqlite").unlink()
    http_server.route("/desk/token-123", Response(200))
    desk = f"""
        - id: desk
          type: apprise
          urls: ["json://127.0.0.1:{http_server.port}/desk/token-123"]
        """
    config = config_with(tmp_path, http_server, desk, to="desk")
    result, loaded = poll(config, tmp_path / "apprise.json")
    assert result.returncode == 0, result.stderr
    assert "alerts: 2 sent" in result.stderr  # the log line and the Apprise message
    (request,) = http_server.requests_to("/desk/token-123")
    message = json.loads(request.body)
    assert message["title"].startswith("[monitor] nato: ")
    assert "الناتو" in message["message"]
    assert "apprise" in loaded["modules"]
    assert "token-123" not in result.stderr
