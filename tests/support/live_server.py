"""The Flask app served over real HTTP on a thread, for browsers and HTTP client libraries."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server

from workers.ports import free_port


class LiveServer:
    """The Flask app on a thread of its own (threaded: the SSE stream holds a connection open)."""

    def __init__(self, app):
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
