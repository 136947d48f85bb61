"""A network camera on loopback for tests: MJPEG over HTTP serving frames of the bundled demo clip."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2

from edge import paths


class MjpegCamera:
    """A network camera on loopback; `paused` stops sending frames but keeps the connection open."""

    def __init__(self, n_frames: int = 30, port: int = 0) -> None:
        cap = cv2.VideoCapture(str(paths.SAMPLE_VIDEO))
        self.frames = []
        while len(self.frames) < n_frames:
            ok, image = cap.read()
            if not ok:
                break
            self.frames.append(cv2.imencode(".jpg", image)[1].tobytes())
        cap.release()
        self.paused = threading.Event()
        self.closed = threading.Event()
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                while not camera.closed.is_set():
                    if camera.paused.is_set():
                        time.sleep(0.05)
                        continue
                    jpg = camera.frames[i % len(camera.frames)]
                    i += 1
                    try:
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n"
                                         % (len(jpg), jpg))
                    except OSError:
                        return
                    time.sleep(0.1)  # 10 fps

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stream.mjpg"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()
