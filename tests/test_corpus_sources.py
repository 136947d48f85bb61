"""Adversarial corpus, sources: cameras and streams that never answer or stall, FIFOs, files that loop or
cannot be decoded, and the kiosk and file modes (a sound track that loops with its video and follows its clock).
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time

import numpy as np
import pytest

import corpus_files as cf
import corpus_run as cr
from edge import config
from edge.audio.wav import write_wav
from edge.capture.video import OpenCVSource, VideoCapture
from edge.capture.audio import MicSource
from edge.pipeline import Pipeline
from edge.publish.base import Publisher
from mjpeg_camera import MjpegCamera

needs_data = pytest.mark.skipif(not cf.SPEECH.is_file(), reason="shared datasets missing")


class Recorder(Publisher):
    name = "recorder"

    def __init__(self, first_delay_s: float = 0.0) -> None:
        self.results, self.first_delay_s = [], first_delay_s

    def publish(self, result):
        if not self.results and self.first_delay_s:
            time.sleep(self.first_delay_s)  # a machine busy at start-up
        self.results.append(result)


# --- sources that never open: SIGTERM while opening, or the open timeout -----------------------------------

@pytest.fixture(params=["http", "rtsp", "fifo"])
def never_opens(request, tmp_path):
    """(kind, video.source) whose open never completes: a camera that accepts and never answers, a FIFO without writer."""
    if request.param == "fifo":
        yield request.param, str(cr.fifo(tmp_path / "video.fifo"))
        return
    server = cr.SilentServer()
    yield request.param, f"{request.param}://127.0.0.1:{server.port}/stream"
    server.close()


def test_sigterm_while_a_source_is_opening(never_opens, corpus):
    kind, spec = never_opens
    p = cr.spawn(["--video", spec, "--no-audio"])
    cr.wait_for_log(p, "models loaded")
    time.sleep(0.5)  # inside the open now
    code, elapsed, err = cr.stop(p)
    result = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "sources", f"source:{kind}-never-opens-sigterm")
    assert result == "handled", (code, elapsed, err)


def test_a_source_that_never_opens_times_out_with_exit_3(never_opens, tmp_path, corpus):
    kind, spec = never_opens
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[video]\nsource = "{spec}"\nopen_timeout_s = 1.0\n[audio]\nsource = "none"\n')
    p = cr.spawn(["--config", str(cfg)])
    try:
        code = p.wait(30)
    finally:
        p.kill()
    err = p.stderr.read()
    result = corpus(cr.outcome(code, 0.0, err, ok=(3,)), "sources", f"source:{kind}-never-opens-timeout")
    assert result == "clean error" and spec in err, err


def test_sigterm_while_a_network_camera_stalls_mid_stream(tmp_path, corpus):
    camera = MjpegCamera()
    try:
        p = cr.spawn(["--video", camera.url, "--no-audio"])
        cr.wait_for_log(p, "first result")
        camera.paused.set()  # the connection stays open, no frame comes: the read blocks inside FFmpeg
        time.sleep(1.0)
        code, elapsed, err = cr.stop(p)
    finally:
        camera.close()
    result = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "sources", "source:stalled-stream-sigterm")
    assert result == "handled", (code, elapsed, err)


def test_a_missing_camera_exits_3(corpus):
    p = cr.spawn(["--video", "/dev/video77", "--no-audio"])
    code = p.wait(60)
    err = p.stderr.read()
    result = corpus(cr.outcome(code, 0.0, err, ok=(3,)), "sources", "source:missing-camera")
    assert result == "clean error" and "/dev/video77" in err, err


# --- files ---------------------------------------------------------------------------------------------------

def test_a_looping_file_without_a_decodable_frame_ends_instead_of_spinning(tmp_path, caplog, corpus):
    """The issue's busy loop: 70 % CPU and 1,600 log lines a second. Now one error, at once."""
    data = bytearray(cf.tiny_video(tmp_path / "good.avi").read_bytes())
    data[300:-100] = bytes(len(data) - 400)  # the AVI header and index stay, every frame is zeros: opens, decodes none
    bad = cf.write(tmp_path / "bad.avi", bytes(data))
    stop = threading.Event()
    caplog.set_level(logging.INFO)
    cap = VideoCapture(OpenCVSource(str(bad)), stop, realtime=True, loop=True).start()
    ended = cap.ended.wait(5.0)
    stop.set()
    cap.join()
    result = corpus("clean error" if ended and cap.error else "hang", "sources", "source:undecodable-looping-file")
    assert result == "clean error", cap.error
    assert "no decodable frame" in cap.error and cap.loops == 0
    assert len(caplog.records) < 10


def test_a_microphone_index_that_does_not_exist_is_refused_not_opened(corpus):
    """The issue's segfault: PortAudio handed an index it never listed. Checked against its list first."""
    pytest.importorskip("pyaudio")
    with pytest.raises(OSError) as e:
        MicSource("97").open()
    corpus("clean error", "sources", "source:mic-index-97")
    assert "no microphone with index 97" in str(e.value) and "input devices" in str(e.value)


@pytest.mark.parametrize("device", ["0", ""], ids=["index-0", "default"])
def test_run_without_a_sound_card_exits_3_naming_the_microphone(device, tmp_path, corpus):
    pytest.importorskip("pyaudio")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[video]\nsource = "none"\n[audio]\nsource = "mic"\ndevice = "{device}"\n')
    p = cr.spawn(["--config", str(cfg)])
    code = p.wait(60)
    err = p.stderr.read()
    result = corpus(cr.outcome(code, 0.0, err, ok=(3,)), "sources", f"source:mic-{device or 'default'}-no-card")
    assert result == "clean error" and "no microphone" in err and "input devices: none" in err, (code, err)


def clip(tmp_path, seconds=4.0, fps=10.0, speech_at=0.5):
    """A video of `seconds` and its sound track: silence, one Emo-DB utterance at `speech_at`, silence."""
    video = cf.tiny_video(tmp_path / "clip.avi", frames=int(seconds * fps), fps=fps)
    rate = 16000
    audio = np.zeros(int(seconds * rate), np.float32)
    s = cf.speech(rate)
    start = int(speech_at * rate)
    audio[start:start + len(s)] = s[:len(audio) - start]
    write_wav(tmp_path / "clip.wav", audio, rate)
    return video, tmp_path / "clip.wav", (speech_at + len(s) / rate)


def run_pipeline(cfg, rec, until, limit_s=60.0):
    stop = threading.Event()
    pipeline = Pipeline(cfg, rec)
    t = threading.Thread(target=lambda: pipeline.run(stop), daemon=True)
    t.start()
    deadline = time.monotonic() + limit_s
    while t.is_alive() and not until(rec.results) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join(5.0)
    return not t.is_alive()


@needs_data
def test_kiosk_the_sound_track_loops_with_the_video(tmp_path, corpus):
    """The issue's kiosk: 14,389 of 14,544 results repeated one stale voice result. Each pass hears its own."""
    video, wav, speech_end = clip(tmp_path)
    cfg = config.from_dict({"video": {"source": str(video), "loop": True, "realtime": False},
                            "audio": {"source": str(wav)}})
    rec = Recorder()
    passes = 3
    stopped = run_pipeline(cfg, rec, lambda r: sum(1 for x in r if x["frame"] == 0) > passes)
    runs, current = [], None
    for r in rec.results:
        if r["frame"] == 0:
            current = []
            runs.append(current)
        current.append(r)
    runs = runs[:passes]
    ok = stopped and len(runs) == passes
    for one in runs:
        voiced = [r for r in one if r["audio"] is not None]
        early = [r for r in one if r["pos_s"] < speech_end - 0.2]
        ok = ok and bool(voiced) and all(r["audio"] is None for r in early)  # nothing stale from the last pass
        ok = ok and all(abs(r["audio"]["start_s"] - 0.3) < 0.3 for r in voiced)  # this pass's utterance
    result = corpus("handled" if ok else ("hang" if not stopped else "crash"), "sources", "source:kiosk-loop")
    assert result == "handled", [(r["frame"], r["pos_s"], r["audio"]) for one in runs for r in one][:200]


@needs_data
def test_the_voice_follows_the_video_clock_whatever_the_start_up_delay(tmp_path, corpus):
    """The issue's file mode: 0 voice results when start-up was slow. The sound track follows the frames."""
    video, wav, speech_end = clip(tmp_path, seconds=4.0)
    cfg = config.from_dict({"video": {"source": str(video), "realtime": True}, "audio": {"source": str(wav)}})
    rec = Recorder(first_delay_s=1.5)  # the first result waits 1.5 s: real-time playback drops frames meanwhile
    stopped = run_pipeline(cfg, rec, lambda r: sum(1 for x in r if x["audio"]) >= 3, limit_s=8.0)
    voiced = [r for r in rec.results if r["audio"] is not None]
    ok = stopped and bool(voiced) and all(r["audio"]["age_s"] <= 3.0 for r in voiced)
    ok = ok and all(abs(r["pos_s"] - r["audio"]["start_s"] - r["audio"]["duration_s"] - r["audio"]["age_s"]) < 0.3
                    for r in voiced)  # the age is measured on the video's clock
    result = corpus("handled" if ok else "crash", "sources", "source:file-mode-slow-start")
    assert result == "handled", [(r["pos_s"], r["audio"]) for r in rec.results]


@needs_data
@pytest.mark.slow  # ~6 s of real-time audio (two passes)
def test_an_audio_file_loops_by_itself_in_a_kiosk_without_video(tmp_path, corpus):
    _, wav, _ = clip(tmp_path, seconds=2.5)
    cfg = config.from_dict({"video": {"source": "none", "loop": True}, "audio": {"source": str(wav)}})
    rec = Recorder()
    stopped = run_pipeline(cfg, rec, lambda r: len([x for x in r if x["audio"]]) >= 2, limit_s=12.0)
    voiced = [r for r in rec.results if r["audio"] is not None]
    result = corpus("handled" if stopped and len(voiced) >= 2 else "crash", "sources", "source:audio-only-loop")
    assert result == "handled", rec.results


# --- streams that change shape (the re-audit) ----------------------------------------------------------------

def test_a_looping_video_replaced_by_one_of_another_size_is_flagged_resolution_changed(tmp_path, caplog, corpus):
    """A kiosk clip swapped on disk for one in another resolution: the next pass's frames are in the new size, and
    the first result with it says so (the issue: boxes silently in the old size's coordinates)."""
    video = cf.tiny_video(tmp_path / "clip.avi", frames=10, size=(64, 48))
    bigger = cf.tiny_video(tmp_path / "bigger.avi", frames=10, size=(160, 90))
    cfg = config.from_dict({"video": {"source": str(video), "loop": True, "realtime": False},
                            "audio": {"source": "none"}})
    caplog.set_level(logging.INFO)
    rec = Recorder()
    swapped = []

    def until(results):
        if len(results) >= 3 and not swapped:
            os.replace(bigger, video)  # read whole at the next loop's reopen
            swapped.append(True)
        return any(r.get("resolution_changed") for r in results)

    stopped = run_pipeline(cfg, rec, until)
    changed = [r for r in rec.results if r.get("resolution_changed")]
    ok = stopped and len(changed) == 1 and changed[0]["frame_size"] == [160, 90]
    ok = ok and sum("frames changed size from 64x48 to 160x90" in r.getMessage() for r in caplog.records) == 1
    result = corpus("handled" if ok else ("hang" if not stopped else "crash"), "sources", "source:resolution-changed")
    assert result == "handled", (len(rec.results), changed, caplog.text[-2000:])


@needs_data
@pytest.mark.parametrize("case,samples", [("nan", np.nan), ("1e30", 1e30)], ids=["nan", "1e30"])
def test_run_streams_a_float_wav_with_invalid_samples_as_silence_said_once(case, samples, tmp_path, corpus):
    """`run --audio FILE`: invalid chunks are read as silence (a NaN would otherwise poison the noise floor for good)
    and the speech after them is still heard."""
    rate = 16000
    x = np.concatenate([np.full(rate, samples, np.float32), cf.speech(rate).astype(np.float32),
                        np.zeros(rate, np.float32)])
    wav = cf.write(tmp_path / "bad.wav", cf.riff(cf.fmt_chunk(fmt=3, bits=32), cf.data_chunk(x.astype("<f4").tobytes())))
    p = cr.spawn(["--no-video", "--audio", str(wav)], stdout=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=120)
        code = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        code = None
    voiced = [line for line in out.splitlines() if '"emotion"' in line and '"audio":{' in line]
    outcome = cr.outcome(code, 0.0, err, ok=(0,))
    ok = outcome == "handled" and err.count("invalid_audio") == 1 and len(voiced) >= 1
    corpus(outcome if ok or outcome != "handled" else "crash", "sources", f"source:float-wav-{case}-streamed")
    assert ok, (code, out[-2000:], err[-2000:])


@pytest.mark.parametrize("share", [0.3, 1.0], ids=["part-of-a-video", "a-whole-video"])
def test_sigterm_with_a_video_fifo_whose_writer_stays_attached(share, tmp_path, corpus):
    """A thread blocked reading a pipe whose writer neither writes nor closes: the stop still ends in time."""
    data = cf.tiny_video(tmp_path / "clip.avi", frames=30, size=(64, 48)).read_bytes()
    pipe = cr.fifo(tmp_path / "video.fifo")
    p = cr.spawn(["--video", str(pipe), "--no-audio"])
    fd = None
    try:
        cr.wait_for_log(p, "models loaded")
        deadline = time.monotonic() + 30
        while fd is None and time.monotonic() < deadline:  # the write end opens once the process opened its end
            try:
                fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.05)
        assert fd is not None, "the process never opened the FIFO"
        try:
            os.write(fd, data[:int(len(data) * share)])  # a few kB: fits the pipe's buffer
        except BlockingIOError:
            pass
        time.sleep(1.5)  # the reader has what there is and waits for more
        code, elapsed, err = cr.stop(p)
    finally:
        if fd is not None:
            os.close(fd)
    result = corpus(cr.outcome(code, elapsed, err, ok=(0,)), "sources", f"source:fifo-writer-attached-{share:g}")
    assert result == "handled" and "Fatal Python error" not in err, (code, elapsed, err[-2000:])
