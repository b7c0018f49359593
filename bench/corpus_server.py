"""Serve the shared feed corpus on loopback, with ETag/If-None-Match, for the benchmarks."""

from __future__ import annotations

import csv
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: eight clients connecting at once overflow it, the
    # kernel drops a SYN and that client waits a whole second to retry
    request_queue_size = 128


FEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "feeds"
SKIP = ("expected-output", "expected-json", "not-a-feed", "category")


def corpus_files() -> dict[str, bytes]:
    with (FEEDS / "INDEX.tsv").open(encoding="utf-8") as index:
        rows = list(csv.reader(index, delimiter="\t"))
    out: dict[str, bytes] = {}
    for repo, path, category, *_ in rows[1:]:
        file = FEEDS / repo.replace("/", "__") / path
        if not any(s in category for s in SKIP) and file.is_file():
            out[f"f{len(out):03d}"] = file.read_bytes()
    return out


class CorpusServer:
    """``validators=False`` makes every poll a full download (a server without ETags)."""

    def __init__(self, bodies: dict[str, bytes], validators: bool = True) -> None:
        self.bodies = bodies
        self.validators = validators
        self.requests = 0
        tags = {name: '"' + hashlib.sha256(b).hexdigest()[:16] + '"' for name, b in bodies.items()}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.requests += 1
                name = self.path.strip("/")
                body = server.bodies.get(name)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if server.validators and self.headers.get("If-None-Match") == tags[name]:
                    self.send_response(304)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                if server.validators:
                    self.send_header("ETag", tags[name])
                self.end_headers()
                self.wfile.write(body)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> CorpusServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def write_config(path: Path, database: str, port: int, names: list[str], rules: int = 1000) -> None:
    """A config with one source per corpus feed and ``rules`` rules on the log channel."""
    from bench.rulegen import generated_rules

    lines = [f"database: {database}", "defaults: {max_connections_per_host: 8}", "sources:"]
    lines += [f"  - id: {n}\n    url: http://127.0.0.1:{port}/{n}" for n in names]
    lines.append("rules:")
    for rule_id, query in generated_rules(rules):
        escaped = query.replace("'", "''")
        lines.append(f"  - id: {rule_id}\n    query: '{escaped}'\n    channels: [console]")
    lines += ["channels:", "  - id: console", "    type: log"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
