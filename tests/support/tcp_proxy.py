"""A TCP proxy on a spare local port, to make a shared service (the machine's PostgreSQL) unreachable.

The fault tests must never stop the machine's services; instead the platform reaches PostgreSQL through
this proxy, and ``cut()`` drops every connection and refuses new ones (accepted and closed at once, as
a dead host's reset would) until ``restore()``. ``slow(s)`` delays every answer by ``s`` seconds instead.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from workers.ports import free_port

BUFFER = 65536


class TcpProxy:
    """Forward 127.0.0.1:``port`` to ``upstream``: one thread per direction per connection."""

    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._forwarding = True
        self._closed = False
        self.delay_s = 0.0  # added before each chunk the upstream sends back
        self.refused = 0  # connections refused while cut
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"tcp-proxy-{self.port}", daemon=True)
        self._acceptor.start()

    @property
    def forwarding(self) -> bool:
        return self._forwarding

    def cut(self) -> None:
        """Drop every open connection; refuse new ones until ``restore()``."""
        with self._lock:
            self._forwarding = False
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def slow(self, delay_s: float) -> None:
        """Delay every chunk of every answer by ``delay_s`` (0: full speed again)."""
        self.delay_s = delay_s

    def restore(self) -> None:
        """Forward again, at full speed."""
        self.delay_s = 0.0
        with self._lock:
            self._forwarding = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._acceptor.join(2)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._forwarding:
                self.refused += 1
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                cut_meanwhile = not self._forwarding
                if not cut_meanwhile:
                    self._open |= {client, upstream}
            if cut_meanwhile:
                _close(client)
                _close(upstream)
                continue
            for src, dst, answers in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(target=self._pump, args=(src, dst, answers), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, answers: bool) -> None:
        try:
            while data := src.recv(BUFFER):
                if answers and self.delay_s:
                    time.sleep(self.delay_s)
                dst.sendall(data)
        except OSError:
            pass
        finally:  # one side gone: close both, as the connection is
            with self._lock:
                self._open -= {src, dst}
            _close(src)
            _close(dst)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
