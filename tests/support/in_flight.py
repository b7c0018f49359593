"""A slow loopback route that counts how many requests it serves at once."""

from __future__ import annotations

import threading
import time

from tests.support.feeds import rss
from tests.support.http_server import Request, Response


class InFlight:
    """Route it (``server.route(path, in_flight)``); ``most`` is the highest overlap seen."""

    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds  # slow, so that requests allowed to overlap do
        self.most = 0
        self._now = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self._now += 1
            self.most = max(self.most, self._now)
        time.sleep(self.seconds)
        with self._lock:
            self._now -= 1
        return Response(body=rss([]))
