"""The live loop: capture -> detect -> classify -> fuse -> publish, until stopped.

One stop event; every wait is bounded; signals only set the event; shutdown joins the
capture threads (producers) before closing the publisher (consumer).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from . import result as result_mod
from .analyze import Analyzer
from .capture import VideoCapture, make_video_source
from .capture_audio import AudioCapture, make_audio_source
from .config import Config
from .health import StageTimes, process_stats
from .paths import SAMPLE_AUDIO, SAMPLE_VIDEO
from .publish.base import Publisher

logger = logging.getLogger(__name__)

# Exit codes of `edge-emotion run` (README, "Exit codes").
EXIT_OK = 0  # stopped by a signal, or every file source ended
EXIT_ERROR = 1  # unexpected failure inside the loop
EXIT_CONFIG = 2  # bad command line or configuration
EXIT_UNAVAILABLE = 3  # a model, camera, microphone or package could not be opened

POLL_S = 0.1  # longest wait for a frame before checking audio and the stop event
# Audio-only polling: well under the 0.4 s of silence that ends an utterance, so results come out promptly.
AUDIO_POLL_S = 0.1


def resolve_sources(cfg: Config) -> tuple[str | None, str | None]:
    """'sample' -> the bundled demo clip; 'none' -> off."""
    video = {"sample": str(SAMPLE_VIDEO), "none": None, "": None}.get(cfg.video.source, cfg.video.source)
    audio = {"sample": str(SAMPLE_AUDIO), "none": None, "": None}.get(cfg.audio.source, cfg.audio.source)
    return video, audio


class Pipeline:
    """Loads models and opens sources in __init__ / start; `run` only fills, invokes and publishes."""

    def __init__(self, cfg: Config, publisher: Publisher, notifier: Any = None) -> None:
        self.cfg, self.publisher, self.notifier = cfg, publisher, notifier
        self.video_spec, self.audio_spec = resolve_sources(cfg)
        if self.video_spec is None and self.audio_spec is None:
            raise ValueError("both video.source and audio.source are 'none': nothing to do")
        self.analyzer = Analyzer(cfg, video=self.video_spec is not None, audio=self.audio_spec is not None)
        self.video: VideoCapture | None = None
        self.audio: AudioCapture | None = None
        self.stream = None
        self.processed = 0
        self.audio_windows = 0
        self.audio_samples = 0
        self.voice_fresh = False  # an utterance ended in this step (audio-only mode publishes only then)
        self.started = time.monotonic()
        self._voice: tuple[float, Any] | None = None  # (utterance end in stream seconds, its result)
        self.stream_flushed = False
        self.publish_ms = 0.0  # how long the previous result took to publish (reported with the next one)
        self.times = StageTimes()

    # -- start-up -------------------------------------------------------------------------
    def open_sources(self, stop: threading.Event) -> None:
        v, a = self.cfg.video, self.cfg.audio
        if self.video_spec is not None:
            source = make_video_source(self.video_spec, v.width, v.height, v.capture_fps)
            self.video = VideoCapture(source, stop, realtime=v.realtime, loop=v.loop,
                                      reconnect_max_s=v.reconnect_max_s).start()
        if self.audio_spec is not None:
            from .audio.voice import VoiceStream

            source = make_audio_source(self.audio_spec, a.device, a.sample_rate)
            realtime = v.realtime if self.video_spec is not None else True
            self.audio = AudioCapture(source, stop, buffer_s=a.buffer_s, realtime=realtime).start()
            self.stream = VoiceStream(self.analyzer.voice, a, self.audio.sample_rate)
        self._audio_pos = 0

    # -- per step -------------------------------------------------------------------------
    def _audio_step(self, timing: dict[str, float], frame=None) -> None:
        """Feed new samples to the voice stream; keep its latest utterance result."""
        if self.audio is None:
            return
        upto = None
        if frame is not None and not self.cfg.video.realtime and self.video.source.is_file:
            # Offline file processing: audio advances with the video, not as fast as it can be read.
            upto = int(round((frame.pos_s + 1.0 / max(self.video.source.fps, 1.0)) * self.audio.sample_rate))
        samples, self._audio_pos = self.audio.ring.read_since(self._audio_pos, upto)
        self.audio.consumed = self._audio_pos
        update = self.stream.feed(samples)
        if self.audio.ended.is_set() and self.audio.ring.written == self._audio_pos and not self.stream_flushed:
            self.stream_flushed = True
            last = self.stream.flush()  # end of a file: the utterance in progress still counts
            if last is not None:
                update = type(update)(last, update.windows + last.windows, update.timing_ms)
        timing["audio_features"] = update.timing_ms.get("features", 0.0)
        timing["audio_classify"] = update.timing_ms.get("classify", 0.0)
        self.audio_windows += update.windows
        if len(samples):
            self.audio_samples += len(samples)
            if self.notifier is not None:
                self.notifier.progress()  # audio is flowing through the gate: the pipeline is alive
        self.voice_fresh = update.result is not None
        if update.result is not None:
            r = update.result
            self._voice = (r.start_s + r.duration_s, r)  # utterance end, in stream seconds

    def _voice_now(self, frame=None) -> tuple[dict | None, str | None, Any]:
        """(audio JSON, reason when null, fused-label vector or None) for the current step."""
        if self.audio is None:
            return None, "audio off", None
        if self._voice is None:
            return None, self.stream.reason or "utterance in progress", None
        # Ages are in stream time, so files processed faster than real time age their voice results correctly;
        # both clocks start with the pipeline, so a live camera and microphone agree too.
        now_s = max(self._audio_pos / self.audio.sample_rate, frame.pos_s if frame is not None else 0.0)
        end_s, res = self._voice
        age = max(0.0, now_s - end_s)
        if age > self.cfg.fusion.voice_max_age_s:
            return None, self.stream.reason or "utterance in progress", None
        if res.probs is None:
            return None, res.reason, None
        d = res.to_dict()
        d["age_s"] = round(age, 3)
        return d, None, self.analyzer.voice_part(res.probs)

    def step(self, frame) -> dict[str, Any]:
        """One processed frame (or, audio-only, one audio poll) -> one result dict."""
        timing = {k: 0.0 for k in result_mod.STAGES}
        faces = []
        if frame is not None:
            timing["capture"] = frame.capture_ms
            faces = self.analyzer.faces(frame.image, timing)
        self._audio_step(timing, frame)
        audio, reason, voice_vec = self._voice_now(frame)
        t = time.perf_counter()
        fused = self.analyzer.fuser.update({"face": self.analyzer.face_part(faces) if frame is not None else None,
                                            "voice": voice_vec})
        timing["fuse"] = (time.perf_counter() - t) * 1e3
        timing["publish"] = self.publish_ms
        extra = {"dropped_frames": self.video.dropped} if self.video else {}
        if frame is not None:
            extra["pos_s"] = round(frame.pos_s, 3)
        labels = self.analyzer.face.labels if self.analyzer.face else ()
        return result_mod.build(frame.index if frame is not None else None, faces, labels, audio, reason,
                                fused, timing, ts=frame.ts if frame is not None else None, **extra)

    # -- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> int:
        code = EXIT_OK
        interval = 1.0 / self.cfg.output.fps if self.cfg.output.fps > 0 else 0.0
        stats_every = self.cfg.output.stats_interval_s
        next_stats = time.monotonic() + stats_every
        ready = False
        try:
            try:
                self.open_sources(stop)
            except OSError as e:  # a camera, microphone or file that cannot be opened: name it, no traceback
                logger.error("%s", e)
                return EXIT_UNAVAILABLE
            while not stop.is_set():
                t_step = time.monotonic()
                if self.video is not None:
                    frame = self.video.latest.get(POLL_S)
                    if frame is None:
                        if self.video.ended.is_set():
                            if self.video.error:
                                logger.error("%s", self.video.error)
                                code = EXIT_ERROR
                            break
                        continue
                else:
                    frame = None
                    if stop.wait(AUDIO_POLL_S):
                        break
                    if self.stream_flushed:  # the audio file ended and its last utterance was classified
                        break
                res = self.step(frame)
                if not ready and (frame is not None or self.audio_samples):
                    ready = True
                    if self.notifier is not None:
                        self.notifier.ready()
                    logger.info("first result %.2f s after start", time.monotonic() - self.started)
                if frame is not None and self.notifier is not None:
                    self.notifier.progress()
                if frame is not None or self.voice_fresh:
                    t = time.perf_counter()
                    self.publisher.publish(res)
                    self.publish_ms = (time.perf_counter() - t) * 1e3
                self.processed += 1
                if getattr(self.publisher, "reader_gone", False):
                    logger.info("nobody reads the results any more; stopping")
                    break
                self.times.add(res["timing_ms"])
                if time.monotonic() >= next_stats:
                    next_stats += stats_every
                    try:
                        self.publisher.publish_stats(self.stats())
                    except Exception:  # noqa: BLE001 - health reporting must never stop the results
                        logger.exception("stats report failed")
                if interval:
                    stop.wait(max(0.0, interval - (time.monotonic() - t_step)))
        except Exception:  # noqa: BLE001 - log with traceback, then shut down in order
            logger.exception("pipeline failed")
            code = EXIT_ERROR
        finally:
            stop.set()
            if self.notifier is not None:
                self.notifier.stopping()
            for cap in (self.video, self.audio):
                if cap is not None:
                    cap.join(timeout=1.0)
            self.publisher.close(timeout=1.0)
        return code

    def stats(self) -> dict[str, Any]:
        up = time.monotonic() - self.started
        s = {"uptime_s": round(up, 1), "processed": self.processed, "fps": round(self.processed / up, 2) if up else 0.0,
             "dropped_frames": self.video.dropped if self.video else 0, "audio_windows": self.audio_windows,
             "latency_ms": self.times.summary(result_mod.STAGES)}
        s.update(process_stats())
        s["publisher"] = self.publisher.stats()
        return s
