"""paho's MQTT client, reading its socket in large chunks.

paho reads each packet with a ``recv`` per field (its type byte, each byte of its length, then its body) and
handles one packet per wake-up of its network loop: at thousands of messages a second, about half of the
bridge's CPU went to those system calls and ``select`` round trips (docs/benchmarks.md, "Where the time
goes"). ``BufferedClient`` keeps paho's parser and state machine untouched and changes only where the bytes
come from: one ``recv`` of up to 64 KiB fills a buffer that serves paho's small reads, and a wake-up goes on
handling packets until that buffer is empty. The buffer must be empty when ``select`` runs again (the socket
would not wake it for bytes already read), so nothing stays there between two loop passes.

It overrides three private methods of paho's ``Client`` (``_sock_recv``, ``_sock_close``, ``loop_read``'s use of
``_packet_read``); ``HOOKS`` names them, and with a paho lacking one of them the plain client is used.
"""

from __future__ import annotations

import logging

import paho.mqtt
import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024
HOOKS = ("_sock_recv", "_sock_close", "_packet_read")


class BufferedClient(mqtt.Client):
    """A paho ``Client`` that reads its socket up to READ_SIZE bytes at a time (see the module's docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._read_buffer = b""
        self._read_pos = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        buf, pos = self._read_buffer, self._read_pos
        if pos >= len(buf):
            buf = super()._sock_recv(max(bufsize, READ_SIZE))  # BlockingIOError when nothing waits: paho's AGAIN
            if len(buf) <= bufsize:  # all of it wanted, or b"" for a closed connection
                self._read_buffer, self._read_pos = b"", 0
                return buf
            pos = 0
        end = pos + bufsize
        self._read_buffer, self._read_pos = buf, end
        return buf[pos:end]

    def _buffered(self) -> bool:
        return self._read_pos < len(self._read_buffer)

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        rc = super().loop_read(max_packets)
        # Each pass takes at least one byte from the buffer, and refills it only to finish a packet begun.
        while rc == mqtt.MQTT_ERR_SUCCESS and self._sock is not None and self._buffered():
            rc = super().loop_read(max_packets)
        return rc

    def _sock_close(self) -> None:
        self._read_buffer, self._read_pos = b"", 0  # bytes of a closed connection must not start the next one
        super()._sock_close()


def client_class() -> type[mqtt.Client]:
    """BufferedClient, or paho's own Client where this paho lacks a method BufferedClient overrides."""
    missing = [name for name in HOOKS if not callable(getattr(mqtt.Client, name, None))]
    if missing:
        log.warning("paho-mqtt %s lacks %s: reading with the plain client", paho.mqtt.__version__, ", ".join(missing))
        return mqtt.Client
    return BufferedClient
