"""The compose broker's TLS listener (config/mosquitto/tls/mosquitto-tls.conf) on a real Mosquitto.

The shipped file is used as compose uses it, with its paths moved: it includes the project's mosquitto.conf
(derived for a private instance, as for every test broker) and adds the TLS listener, with a throwaway
certificate made by config/mosquitto/tls/make-certs.sh, the script docs/security.md gives operators.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from config.settings import parse_mqtt_url
from tests.support.mqtt_probe import Connection, Listener
from tests.support.services import ROOT, TEST_PASSWORDS, Mosquitto, wait_for
from workers.ports import free_port, wait_port

TLS_DIR = ROOT / "config/mosquitto/tls"
OWN = "heping/parking/P-ZIYANGLI/P-ZIYANGLI-001/state"
OTHERS = "heping/parking/P-ZIYANGLI/P-ZIYANGLI-002/state"
MOVED = ("include_dir", "listener", "cafile", "certfile", "keyfile")


def private_tls_config(text: str, include_dir: Path, port: int, certs: Path) -> str:
    """The shipped TLS config with its include directory, TLS port and certificate paths moved."""
    lines, seen = [], set()
    for line in text.splitlines():
        key = line.split(" ", 1)[0]
        if key == "include_dir":
            line = f"include_dir {include_dir}"
        elif key == "listener":
            line = f"listener {port} 127.0.0.1"
        elif key in ("cafile", "certfile", "keyfile"):
            line = f"{key} {certs / Path(line.split()[1]).name}"
        seen.add(key)
        lines.append(line)
    assert seen.issuperset(MOVED), f"the shipped TLS config lacks {set(MOVED) - seen}"
    return "\n".join(lines) + "\n"


class TlsMosquitto(Mosquitto):
    """The compose broker: mosquitto-tls.conf including the project's mosquitto.conf, paths moved."""

    def __init__(self, certs: Path):
        super().__init__()
        self.certs, self.tls_port = certs, free_port()

    def config(self) -> Path:
        plain = self.dir / "included"  # a directory of its own: include_dir must not hold the main file
        plain.mkdir(exist_ok=True)
        super().config().rename(plain / "mosquitto.conf")
        main = self.dir / "mosquitto-tls.conf"
        text = (TLS_DIR / "mosquitto-tls.conf").read_text()
        main.write_text(private_tls_config(text, plain, self.tls_port, self.certs))
        return main

    def start(self, via_run_sh: bool = False) -> TlsMosquitto:
        super().start(via_run_sh)
        if not wait_port("127.0.0.1", self.tls_port):
            self.stop()
            pytest.fail(f"no TLS listener; log: {(self.dir / 'mosquitto.log').read_text()[-2000:]}")
        return self


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A throwaway CA and a broker certificate for 127.0.0.1 and localhost, as docs/security.md makes them."""
    root = tmp_path_factory.mktemp("tls")
    made = subprocess.run(
        ["sh", str(TLS_DIR / "make-certs.sh"), str(root / "ca"), str(root / "certs"), "localhost", "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    return root / "certs"


@pytest.fixture(scope="module")
def tls_broker(certs):
    broker = TlsMosquitto(certs).start(via_run_sh=True)  # as compose runs it
    yield broker
    broker.cleanup()


def url(broker, user: str) -> str:
    return f"mqtts://{user}:{TEST_PASSWORDS[user]}@127.0.0.1:{broker.tls_port}"


def test_devices_publish_over_tls_and_plain_mqtt_is_refused_on_the_tls_port(tls_broker, certs):
    def over_tls(user: str):
        return parse_mqtt_url(url(tls_broker, user), ca_file=str(certs / "ca.crt"))

    listener = Listener(over_tls("civic-bridge"))
    device = Connection(over_tls("S-P-ZIYANGLI-001"))
    assert device.accepted and device.client.socket().version() in ("TLSv1.2", "TLSv1.3")
    assert device.publish(OWN, b"over tls")
    device.publish(OTHERS, b"forged over tls")  # the same accounts and ACL as on the plain listener
    device.close()
    rightful = Connection(over_tls("S-P-ZIYANGLI-002"))
    assert rightful.publish(OTHERS, b"genuine over tls")
    wait_for(lambda: listener.payloads(OTHERS), 10, message="the messages over TLS")
    rightful.close()
    assert listener.payloads(OWN) == [b"over tls"] and listener.payloads(OTHERS) == [b"genuine over tls"]
    listener.close()

    plain = parse_mqtt_url(url(tls_broker, "S-P-ZIYANGLI-001").replace("mqtts://", "mqtt://"))
    assert plain.port == tls_broker.tls_port and not plain.tls
    refused = Connection(plain)  # no plain MQTT on the TLS port: the broker closes the connection unanswered
    refused.close()
    assert not refused.answered.is_set() and refused.dropped.is_set()
    with pytest.raises(ssl.SSLCertVerificationError):  # without MQTT_CA_FILE: the system's CAs never signed it
        Connection(parse_mqtt_url(url(tls_broker, "S-P-ZIYANGLI-001")))

    beside = Connection(replace(plain, port=tls_broker.port))  # the plain listener (1883 in compose) still serves
    beside.close()
    assert beside.accepted


def test_the_simulator_publishes_over_tls_with_mqtt_ca_file(tls_broker, certs, tmp_path):
    """`civic simulate` with MQTT_URL=mqtts://… and MQTT_CA_FILE: every reading acknowledged over TLS."""
    env = os.environ | {
        "MQTT_URL": url(tls_broker, "civic-simulator"),
        "MQTT_CA_FILE": str(certs / "ca.crt"),
        "CIVIC_DATA_DIR": str(tmp_path),
    }
    run = subprocess.run(
        [sys.executable, "-m", "services.cli", "simulate", "--rate", "20", "--duration", "2", "--devices", "5"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["devices"] == 5 and report["published"] > 0
    assert report["acked"] == report["published"], report


def test_without_certificates_the_broker_serves_plain_mqtt_and_says_tls_is_off(tmp_path):
    """A first `docker compose up` before the certificates exist: the broker runs, not a restart loop."""
    broker = TlsMosquitto(tmp_path / "no-certs-yet")
    Mosquitto.start(broker, via_run_sh=True)
    try:
        assert wait_port("127.0.0.1", broker.port)
        log = wait_for(lambda: "TLS is OFF" in (text := (broker.dir / "mosquitto.log").read_text()) and text, 10,
                       message="run.sh's warning")  # fmt: skip
        assert "no-certs-yet/ca.crt" in log
        assert not wait_port("127.0.0.1", broker.tls_port, timeout=1)
    finally:
        broker.cleanup()
