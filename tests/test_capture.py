import threading
import time
import wave

import cv2
import numpy as np
import pytest

from edge.capture.video import Frame, LatestFrame, OpenCVSource, VideoCapture, make_video_source
from edge.capture.audio import AudioCapture, RingBuffer, WavFileSource


def make_video(path, frames=30, fps=30.0, size=(96, 64)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert w.isOpened()
    for i in range(frames):
        img = np.full((size[1], size[0], 3), (i * 8) % 256, np.uint8)  # brightness encodes the index
        w.write(img)
    w.release()
    return path


def test_latest_frame_keeps_one_and_counts_drops():
    slot = LatestFrame()
    for i in range(5):
        slot.put(Frame(i, 0.0, 0.0, np.zeros((2, 2, 3), np.uint8), 0.0))
    got = slot.get(timeout=0.01)
    assert got.index == 4 and slot.dropped == 4
    assert slot.get(timeout=0.01) is None


def test_offline_file_yields_every_frame_in_order(tmp_path):
    path = make_video(tmp_path / "v.mp4", frames=30)
    stop = threading.Event()
    cap = VideoCapture(OpenCVSource(str(path)), stop, realtime=False).start()
    seen = []
    while True:
        f = cap.latest.get(timeout=1.0)
        if f is None:
            if cap.ended.is_set():
                break
            continue
        seen.append(f.index)
        assert f.image.shape == (64, 96, 3)
    cap.join()
    assert seen == list(range(30)) and cap.dropped == 0


def test_realtime_file_with_slow_consumer_drops_and_counts(tmp_path):
    path = make_video(tmp_path / "v.mp4", frames=60, fps=60.0)  # 1 s of video
    stop = threading.Event()
    cap = VideoCapture(OpenCVSource(str(path)), stop, realtime=True).start()
    got = 0
    while not cap.ended.is_set() or cap.latest._frame is not None:
        f = cap.latest.get(timeout=0.5)
        if f is not None:
            got += 1
            time.sleep(0.1)  # a consumer at ~10 fps cannot keep up with 60 fps
    cap.join()
    assert cap.dropped > 0
    assert got + cap.dropped == 60  # every frame was either processed or counted as dropped
    assert got < 30


def test_stop_event_ends_capture_quickly(tmp_path):
    path = make_video(tmp_path / "v.mp4", frames=300, fps=30.0)  # 10 s
    stop = threading.Event()
    cap = VideoCapture(OpenCVSource(str(path)), stop, realtime=True).start()
    time.sleep(0.2)
    t = time.monotonic()
    stop.set()
    cap.join(timeout=2.0)
    assert cap.ended.wait(2.0)
    assert time.monotonic() - t < 2.0


def test_missing_sources_give_clear_errors(tmp_path):
    with pytest.raises(OSError, match="cannot open video source .*missing.mp4"):
        make_video_source(str(tmp_path / "missing.mp4")).open()
    with pytest.raises(OSError, match="video.*group"):
        make_video_source("/dev/video99").open()


def test_ring_buffer_wraps_and_reports_overwrites():
    ring = RingBuffer(10)
    ring.write(np.arange(6))
    x, pos = ring.read_since(0)
    assert x.tolist() == list(range(6)) and pos == 6
    ring.write(np.arange(6, 14))  # wraps around the end
    x, pos = ring.read_since(pos)
    assert x.tolist() == list(range(6, 14)) and pos == 14
    ring.write(np.arange(14, 40))  # more than the capacity: the oldest are gone
    x, pos = ring.read_since(pos)
    assert x.tolist() == list(range(30, 40)) and ring.overwritten == 16


def test_wav_file_capture_fills_the_ring(tmp_path):
    rate = 16000
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(rate // 2) / rate) * 32767).astype("<i2")
    path = tmp_path / "a.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(tone.tobytes())
    stop = threading.Event()
    cap = AudioCapture(WavFileSource(path), stop, buffer_s=2.0, realtime=False).start()
    assert cap.ended.wait(5.0)
    x, pos = cap.ring.read_since(0)
    cap.join()
    assert pos == len(tone)
    np.testing.assert_allclose(x, tone / 32768.0, atol=1e-4)


def test_lost_network_camera_is_reopened_with_backoff(caplog):
    from mjpeg_camera import MjpegCamera

    camera = MjpegCamera()
    port = camera.server.server_address[1]
    stop = threading.Event()
    cap = VideoCapture(OpenCVSource(camera.url), stop, reconnect_max_s=0.5).start()
    try:
        assert cap.latest.get(timeout=5.0) is not None
        camera.close()  # the camera goes away: reads fail, reopening fails for a while
        time.sleep(1.5)
        camera = MjpegCamera(port=port)  # back on the same address
        deadline = time.monotonic() + 10.0
        while cap.reconnects == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cap.reconnects >= 1
        cap.latest.get(timeout=0.01)  # discard a frame from before the outage, if any
        assert cap.latest.get(timeout=5.0) is not None  # frames flow again
        assert not cap.ended.is_set() and cap.error is None  # never fatal
        assert "lost; reopening" in caplog.text
    finally:
        stop.set()
        cap.join(timeout=2.0)
        camera.close()
