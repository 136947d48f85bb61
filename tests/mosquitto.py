"""A real mosquitto broker on a free loopback port, with a generated config, for the MQTT tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """One mosquitto process; `stop` and `start` again keep the port, the config and the persistence file."""

    def __init__(self, workdir: Path, extra: str = "", port: int | None = None) -> None:
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log = self.dir / "mosquitto.log"
        self.conf = self.dir / "mosquitto.conf"
        # `user root`: mosquitto started as root otherwise switches to the 'mosquitto' user, which cannot
        # read pytest's 0700 temp folders. Persistence keeps a durable subscriber's queue across a restart.
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "user root\n"
            "persistence true\n"
            f"persistence_location {self.dir}/\n"
            f"log_dest file {self.log}\n"
            "log_type all\n"
            + (extra if "password_file" in extra else "allow_anonymous true\n" + extra)
        )
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 5.0) -> "Broker":
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited ({self.proc.returncode}): {self.proc.stderr.read().decode()} "
                                   f"{self.log.read_text() if self.log.exists() else ''}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on port {self.port} within {timeout} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: mosquitto writes its persistence file and exits
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Subscriber:
    """A paho client that records every message per topic; durable (clean_session off) when `client_id` is given."""

    def __init__(self, broker: Broker, topic: str = "#", client_id: str = "", qos: int = 1,
                 username: str | None = None, password: str | None = None, tls: dict | None = None) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=not client_id)
        if username:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(**tls)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = lambda c, u, f, rc, p: (c.subscribe(topic, qos), self.connected.set())
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_message = self._on_message
        self.client.connect_async("127.0.0.1", broker.port, keepalive=10)
        self.client.loop_start()
        if not self.connected.wait(5):
            raise RuntimeError(f"test subscriber could not connect to port {broker.port}")
        time.sleep(0.1)  # let the SUBACK arrive before the test publishes

    def _on_message(self, client, userdata, msg) -> None:
        with self.lock:
            self.messages.append(msg)

    def on(self, topic: str) -> list[mqtt.MQTTMessage]:
        with self.lock:
            return [m for m in self.messages if m.topic == topic]

    def wait_for(self, predicate, timeout: float = 5.0) -> bool:
        return wait_for(predicate, timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(predicate, timeout: float = 5.0) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds have passed; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def make_certs(d: Path, names: tuple[str, ...] = ("ca", "server", "client"), ca: str = "ca") -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, made with the openssl CLI."""
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]  # EC keys: fast to generate
    out: dict[str, Path] = {}

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    for name in names:
        if name.startswith("ca"):
            run("req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
                "-subj", f"/CN=edge-emotion test {name}")
        else:
            (d / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
            run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
            run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext")
            out[f"{name}_key"] = d / f"{name}.key"
        out[name] = d / f"{name}.crt"
    return out


def password_file(path: Path, user: str, password: str) -> Path:
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), user, password], check=True, capture_output=True)
    path.chmod(0o600)
    return path
