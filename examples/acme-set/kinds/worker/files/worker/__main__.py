"""`python -m worker`: the job loop, plus GET /healthz on $PORT for the container healthcheck.

/healthz answers 200 while the loop has completed a round within the last three intervals, so
a stuck job makes the container unhealthy. SIGTERM (docker stop) ends the loop after the
current round; nothing is written to disk (the root filesystem is read-only).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INTERVAL = float(os.environ.get("WORKER_INTERVAL", "5"))
log = logging.getLogger("worker")
stop = threading.Event()
last_round = time.monotonic()


def work() -> None:
    """One round of work: replace with your job (read a queue, sweep a table, ...)."""
    databases = [d for d in os.environ.get("DATABASES", "").split(",") if d]
    log.info("round done (databases: %s)", ", ".join(databases) or "none")


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/healthz":
            status, body = 404, b"not found\n"
        elif time.monotonic() - last_round < 3 * INTERVAL + 5:
            status, body = 200, b"ok\n"
        else:
            status, body = 503, b"stale: no round finished lately\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # healthchecks every few seconds would drown the worker's own log


def main() -> None:
    global last_round
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # All interfaces of the container's own network namespace; compose never publishes it.
    port = int(os.environ.get("PORT", "9000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log.info("worker started, one round every %ss", INTERVAL)
    while not stop.is_set():
        try:
            work()
            last_round = time.monotonic()
        except Exception:
            log.exception("round failed")
        stop.wait(INTERVAL)
    server.shutdown()
    log.info("worker stopped")


if __name__ == "__main__":
    main()
