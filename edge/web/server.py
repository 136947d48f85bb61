"""The device's own web server (standard library only): the live page, its data, /metrics and /healthz.

Bounded: at most `http.max_clients` connections are served at once (one thread each; more are
answered 503 by the accepting thread) and `http.max_streams` of them may watch /stream.mjpg.
Every socket has a time-out, so a stalled client ties up one slot for seconds, never the loop.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import socket
import threading
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..config import ConfigError
from ..credentials import read_secret
from .live import TIMELINE_STEP_S, LiveState
from .stream import JpegStream

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/": ("index.html", "text/html; charset=utf-8"), "/app.js": ("app.js", "text/javascript; charset=utf-8"),
         "/app.css": ("app.css", "text/css; charset=utf-8")}
COOKIE = "edge_emotion_token"
# /healthz fails when the newest result is older than this: a third of the unit's WatchdogSec=30s, so a load
# balancer notices a stalled loop well before systemd restarts it.
STALE_S = 10.0
SOCKET_TIMEOUT_S = 5.0  # a client that neither reads nor writes for this long is dropped
BOUNDARY = b"edge-emotion-frame"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'",
}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token(cfg) -> str:
    """The token from exactly one of http.token, token_env and token_file ('' when none is set)."""
    token = read_secret("http", cfg, "token").strip()
    given = next((k for k in ("token", "token_env", "token_file") if getattr(cfg, k)), None)
    if given and len(token) < 16:
        raise ConfigError([f"http.{given}: the token has {len(token)} characters; use at least 16 "
                           "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"])
    if not token and not is_loopback(cfg.host):
        raise ConfigError([f"http.host = {cfg.host!r} listens beyond this machine: set http.token_file (or "
                           "token_env, token) so that only you can see the camera, or keep host = \"127.0.0.1\""])
    return token


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still writing at shutdown does not hold the process

    def __init__(self, address, handler, app: "LiveServer", max_clients: int) -> None:
        self.app = app
        self.slots = threading.BoundedSemaphore(max_clients)
        self.max_clients = max_clients
        self.refused = 0
        if ":" in address[0]:  # an IPv6 address ("::", "::1")
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):  # full: answer here, without a thread
            self.refused += 1
            try:
                request.settimeout(1.0)
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:  # noqa: BLE001 - no thread could be started: give the slot back
            self.slots.release()
            raise

    @property
    def busy(self) -> int:
        """Connections being served now."""
        return self.max_clients - self.slots._value  # BoundedSemaphore keeps its count there (3.8-3.13)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = SOCKET_TIMEOUT_S
    server_version = "edge-emotion"

    def log_message(self, fmt: str, *args: Any) -> None:  # requests go to the debug log, not stderr
        logger.debug("%s %s", self.address_string(), fmt % args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        app = self.server.app
        url = urlsplit(self.path)
        route, query = url.path, parse_qs(url.query)
        try:
            if route == "/healthz":  # open to load balancers and watchdogs: it says nothing about the scene
                return self._healthz(app)
            if not self._authorised(app, query):
                return
            if route in PAGES:
                name, ctype = PAGES[route]
                return self._send(200, (STATIC / name).read_bytes(), ctype, cache="no-cache")
            if route == "/api/latest":
                return self._latest(app)
            if route == "/api/timeline":
                points, events = app.live.history()
                return self._json(200, {"step_s": TIMELINE_STEP_S, "points": points, "events": events})
            if route == "/metrics":
                return self._send(200, app.metrics().encode(), "text/plain; version=0.0.4; charset=utf-8")
            if route == "/stream.mjpg":
                return self._mjpeg(app)
            self._send(404, b"not found\n", "text/plain; charset=utf-8")
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError) as e:  # the client went away
            logger.debug("%s: %s", route, e)

    # -- pieces -----------------------------------------------------------------------------------------
    def _authorised(self, app: "LiveServer", query: dict) -> bool:
        if not app.token:
            return True
        auth = self.headers.get("Authorization", "")
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        given = [auth[7:] if auth.startswith("Bearer ") else "", cookie[COOKIE].value if COOKIE in cookie else ""]
        from_query = (query.get("token") or [""])[0]
        if from_query and hmac.compare_digest(from_query.encode(), app.token.encode()):
            # a link with ?token= logs the browser in: a cookie, then the same page without the token in its address
            self.send_response(303)
            self.send_header("Set-Cookie", f"{COOKIE}={app.token}; Path=/; HttpOnly; SameSite=Strict")
            self.send_header("Location", urlsplit(self.path).path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        if any(g and hmac.compare_digest(g.encode(), app.token.encode()) for g in given):
            return True
        self._send(401, b"token required: open /?token=YOUR_TOKEN once (http.token), or send "
                        b"'Authorization: Bearer YOUR_TOKEN'\n", "text/plain; charset=utf-8",
                   extra={"WWW-Authenticate": "Bearer"})
        return False

    def _healthz(self, app: "LiveServer") -> None:
        result, age = app.live.latest()
        if result is None:
            body, code = {"status": "starting"}, 503
        else:
            ok = age <= STALE_S
            body = {"status": "ok" if ok else "stalled", "last_result_age_s": round(age, 3),
                    "results": app.live.counts["results"]}
            code = 200 if ok else 503
        self._json(code, body)

    def _latest(self, app: "LiveServer") -> None:
        result, age = app.live.latest()
        body = dict(result or {})
        body["frame_size"] = list(app.live.frame_size) if app.live.frame_size else None
        body["age_s"] = None if age is None else round(age, 3)
        body["stream"] = app.stream is not None
        self._json(200, body)

    def _mjpeg(self, app: "LiveServer") -> None:
        stream = app.stream
        if stream is None:
            return self._send(404, b"the image stream is off (http.stream = false): only numbers leave the device\n",
                              "text/plain; charset=utf-8")
        if not stream.add_viewer():
            return self._send(503, f"at most {stream.max_viewers} viewers (http.max_streams)\n".encode(),
                              "text/plain; charset=utf-8", extra={"Retry-After": "5"})
        try:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
            self.send_header("Cache-Control", "no-store")
            for k, v in SECURITY_HEADERS.items():
                self.send_header(k, v)
            self.end_headers()
            seq = 0
            while not app.stop.is_set():
                seq, jpeg = stream.next_jpeg(seq)
                if jpeg is None:
                    continue
                self.wfile.write(b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\nContent-Length: "
                                 + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
                self.wfile.flush()
        finally:
            stream.remove_viewer()

    def _json(self, code: int, body: Any) -> None:
        self._send(code, json.dumps(body, separators=(",", ":")).encode(), "application/json")

    def _send(self, code: int, body: bytes, ctype: str, cache: str = "no-store", extra: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        for k, v in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class LiveServer:
    """Serves the live page from `live`; `start` binds (errors name the key to change), `close` stops in bounded time."""

    def __init__(self, cfg, live: LiveState, stop: threading.Event, token: str | None = None) -> None:
        self.cfg, self.live, self.stop = cfg, live, stop
        self.token = read_token(cfg) if token is None else token
        self.stream: JpegStream | None = None
        if cfg.stream:
            self.stream = JpegStream(live, stop, fps=cfg.stream_fps, width=cfg.stream_width,
                                     quality=cfg.jpeg_quality, max_viewers=cfg.max_streams)
        self.httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1] if self.httpd else self.cfg.port

    def start(self) -> "LiveServer":
        try:
            self.httpd = _Server((self.cfg.host, self.cfg.port), _Handler, self, self.cfg.max_clients)
        except OSError as e:
            raise OSError(f"live page: cannot listen on {self.cfg.host}:{self.cfg.port} ({e.strerror or e}): "
                          "change http.port (another program uses it), or check http.host is an address of this "
                          "machine; under systemd the unit's SocketBindAllow= must name the port") from None
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="http", daemon=True)
        self._thread.start()
        if self.stream is not None:
            self.stream.start()
        logger.info("live page on http://%s:%d/%s", self.cfg.host, self.port,
                    "" if self.cfg.stream else " (image stream off: http.stream = false)")
        return self

    def metrics(self) -> str:
        text = self.live.metrics()
        if self.httpd is not None:
            text += ("# HELP edge_emotion_http_refused_total Connections refused because http.max_clients were busy.\n"
                     "# TYPE edge_emotion_http_refused_total counter\n"
                     f"edge_emotion_http_refused_total {self.httpd.refused}\n")
        return text

    def close(self, timeout: float = 1.0) -> None:
        """Stop accepting, end the streams and the encoder; returns within about `timeout` seconds."""
        deadline = time.monotonic() + timeout
        if self.httpd is not None:
            self.httpd.shutdown()  # returns once serve_forever has seen it (poll_interval 0.2 s)
            self.httpd.server_close()
        if self.stream is not None:
            self.stream.join(max(0.05, deadline - time.monotonic()))
