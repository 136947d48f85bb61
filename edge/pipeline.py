"""The live loop: the channels' inputs -> each channel's part -> fuse -> publish, until stopped.

One stop event; every wait is bounded; signals only set the event; shutdown joins the
capture threads (producers) before closing the publisher (consumer).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from . import result as result_mod
from .capture.video import VideoCapture
from .preflight import nothing_to_do
from .channels import Channel, Part, channel_classes
from .config import Config
from .errors import EXIT_CONFIG, EXIT_ERROR, EXIT_OK, EXIT_UNAVAILABLE  # noqa: F401 - re-exported
from .fuse.fusion import Fuser
from .service.health import StageTimes, process_stats
from .publish.base import Publisher

logger = logging.getLogger(__name__)


POLL_S = 0.1  # longest wait for a frame before checking the other inputs and the stop event
# Shutdown, all parts together (capture threads, channels, publisher flush): SIGTERM to exit within 2 s, with
# room for the interpreter's own exit.
STOP_BUDGET_S = 1.0
# Polling without video: well under the 0.4 s of silence that ends an utterance, so results come out promptly.
AUDIO_POLL_S = 0.1
GO, WAIT, END = "go", "wait", "end"  # what `next_input` found


class Pipeline:
    """Builds the channels (models) in __init__ and opens sources in `open_sources`; `run` only steps and publishes."""

    def __init__(self, cfg: Config, publisher: Publisher, notifier: Any = None) -> None:
        self.cfg, self.publisher, self.notifier = cfg, publisher, notifier
        classes = channel_classes()
        specs = {cls.name: cls.source(cfg) for cls in classes}
        if all(spec is None for spec in specs.values()):
            raise ValueError(nothing_to_do(classes))
        t0 = time.perf_counter()
        self.channels: dict[str, Channel] = {}  # the channels this config turns on, in result order
        self.parts_off: dict[str, Part] = {}  # the fields of those it turns off
        for cls in classes:
            if specs[cls.name] is None:
                self.parts_off[cls.name] = cls.absent(cls.off_reason)
            else:
                self.channels[cls.name] = cls.from_config(cfg)
        self.order = [cls.name for cls in classes]
        self.counters = {c: 0 for cls in classes for c in cls.counters}
        self.fuser = Fuser.from_config(cfg.fusion)
        self.subject = None  # the followed face's track id: fusion restarts its smoothing when it changes
        self.live = None  # edge.web.live.LiveState when the live page is on ([http] enabled)
        self.server = None
        self.events: list[dict] = []  # this step's events (tracked faces)
        self.page_token = None
        if cfg.http.enabled:  # a missing or short token is a configuration error, found before anything starts
            from .web.server import read_token

            self.page_token = read_token(cfg.http)
        self.load_s = time.perf_counter() - t0
        self.video: VideoCapture | None = None  # the frames the loop steps by: a `frames` channel's capture
        self.processed = 0
        self.input_seen = False  # some channel has had input (readiness without video)
        self.fresh = False  # a channel got a new reading in this step (loops without video publish only then)
        self.started = time.monotonic()
        self.publish_ms = 0.0  # how long the previous result took to publish (reported with the next one)
        self.frame_size: tuple[int, int] | None = None  # (width, height) of the latest frame
        self.resolution_changes = 0
        self.times = StageTimes()
        self.code = EXIT_OK  # the exit status `run` returns
        self.ready = False  # readiness told (the first result)
        self.interval = 0.0  # 1 / output.fps: the shortest step
        self.next_stats = 0.0  # time.monotonic() of the next health report

    # -- start-up -------------------------------------------------------------------------
    def loaded_models(self) -> str:
        """What the loop runs, as its channels describe it: each model file and backend, the face detector."""
        return ", ".join(line for ch in self.channels.values() for line in ch.describe())

    def open_sources(self, stop: threading.Event) -> None:
        """The channels whose input is frames first: their capture is the loop's clock, which the others follow."""
        broker = self.publisher.connection
        framed = [ch for ch in self.channels.values() if ch.frames]
        for ch in framed:
            ch.open(stop, True, False, broker=broker)
        self.video = next((ch.capture for ch in framed if ch.capture is not None), None)
        realtime = self.video.realtime if self.video is not None else True
        # A video file is the clock: its sound track follows the frames' position, whatever start-up cost.
        media_clock = self.video is not None and self.video.is_file
        for ch in self.channels.values():
            if not ch.frames:
                ch.open(stop, realtime, media_clock, broker=broker)

    # -- per step -------------------------------------------------------------------------
    def step(self, frame) -> dict[str, Any]:
        """One processed frame (or, without video, one poll of the other inputs) -> one result dict."""
        timing = {k: 0.0 for k in result_mod.STAGES}
        until_s = None
        if frame is not None:
            timing["capture"] = frame.capture_ms
            # The media clock: with a video file the other inputs advance to the end of this frame, not with the wall
            # clock.
            until_s = self.video.media_end_s(frame)
        parts = {name: self.channels[name].step(frame, timing, until_s) if name in self.channels
                 else self.parts_off[name] for name in self.order}
        self.events = [e for p in parts.values() for e in p.events]
        subject = next((p.subject for p in parts.values() if p.subject is not None), None)
        if subject is not None and self.subject is not None and subject != self.subject:
            self.fuser.reset()  # another person is followed now: do not blend them with the previous one
        self.subject = subject
        if any(p.progressed for p in parts.values()):
            self.input_seen = True
            if self.notifier is not None:
                self.notifier.progress()  # input is flowing through the channels: the pipeline is alive
        self.fresh = any(p.fresh for p in parts.values())
        t = time.perf_counter()
        fused = self.fuser.update({name: p.vector for name, p in parts.items()})
        timing["fuse"] = (time.perf_counter() - t) * 1e3
        timing["publish"] = self.publish_ms
        extra = {"dropped_frames": self.video.dropped} if self.video else {}
        if frame is not None:
            extra["pos_s"] = round(frame.pos_s, 3)
            extra.update(self._check_size(frame))
        res = result_mod.build(frame.index if frame is not None else None, list(parts.values()), fused, timing,
                               ts=frame.ts if frame is not None else None, **extra)
        if self.video is not None:
            res["fused"]["track_id"] = subject
        return res

    def _check_size(self, frame) -> dict[str, Any]:
        """A source whose frames change size (a camera reopened in another mode, a stream re-negotiated): the
        boxes follow the new size; the result that first has it says so, and the log once per change."""
        size = (int(frame.image.shape[1]), int(frame.image.shape[0]))
        old, self.frame_size = self.frame_size, size
        if old is None or old == size:
            return {}
        self.resolution_changes += 1
        self.fuser.reset()  # the picture changed under the estimate: start it afresh
        logger.warning("video: frames changed size from %dx%d to %dx%d at frame %d; boxes are in the new size "
                       "(resolution_changed in that result)", *old, *size, frame.index)
        return {"resolution_changed": True, "frame_size": list(size)}

    # -- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> int:
        """Open the sources, then per step: next input, the channels' results, publish, report; then shut down."""
        self.code = EXIT_OK
        try:
            if not self._start(stop):
                return EXIT_UNAVAILABLE
            while not stop.is_set():
                t_step = time.monotonic()
                state, frame = self.next_input(stop)
                if state == WAIT:
                    continue
                if state == END:
                    break
                res = self.step(frame)
                self._tell_progress(frame)
                self._publish(frame, res)
                self.processed += 1
                if self.publisher.reader_gone:
                    logger.info("nobody reads the results any more; stopping")
                    break
                self.times.add(res["timing_ms"])
                self._report_stats()
                if self.interval:
                    stop.wait(max(0.0, self.interval - (time.monotonic() - t_step)))
        except Exception:  # noqa: BLE001 - log with traceback, then shut down in order
            logger.exception("pipeline failed")
            self.code = EXIT_ERROR
        finally:
            self._shut_down(stop)
        return self.code

    def _start(self, stop: threading.Event) -> bool:
        """Open the sources and the live page; False (logged) when a source cannot be opened."""
        self.interval = 1.0 / self.cfg.output.fps if self.cfg.output.fps > 0 else 0.0
        self.next_stats = time.monotonic() + self.cfg.output.stats_interval_s
        self.ready = False
        try:
            self.open_sources(stop)
        except OSError as e:  # a camera, microphone or file that cannot be opened: name it, no traceback
            logger.error("%s", e)
            return False
        if self.cfg.http.enabled:
            self.start_page(stop)
        return True

    def next_input(self, stop: threading.Event) -> tuple[str, Any]:
        """(GO, frame) for the next frame; without video (GO, None) once per poll of the other inputs. (WAIT, None):
        no frame yet; (END, None): the inputs are finished (a video that failed sets the exit status)."""
        if self.video is not None:
            frame = self.video.next(POLL_S)
            if frame is not None:
                return GO, frame
            if not self.video.exhausted:
                return WAIT, None
            if self.video.error:
                logger.error("%s", self.video.error)
                self.code = EXIT_ERROR
            return END, None
        if stop.wait(AUDIO_POLL_S):
            return END, None
        if all(ch.ended for ch in self.channels.values()):  # e.g. the audio file ended, last utterance out
            return END, None
        return GO, None

    def _tell_progress(self, frame) -> None:
        """Readiness at the first result, and the watchdog while frames or other input flow."""
        if not self.ready and (frame is not None or self.input_seen):
            self.ready = True
            if self.notifier is not None:
                self.notifier.ready()
            logger.info("first result %.2f s after start", time.monotonic() - self.started)
        if frame is not None and self.notifier is not None:
            self.notifier.progress()

    def _publish(self, frame, res: dict[str, Any]) -> None:
        """Every frame's result, or without video each fresh reading's; this step's events; the live page."""
        if frame is None and not self.fresh:
            return
        t = time.perf_counter()
        self.publisher.publish(res)
        for event in self.events:
            self.publisher.publish_event(event)
        self.publish_ms = (time.perf_counter() - t) * 1e3
        if self.live is not None:
            self.live.update(frame.image if frame is not None else None, res, self.events)

    def _report_stats(self) -> None:
        """The health report, every output.stats_interval_s."""
        if time.monotonic() < self.next_stats:
            return
        self.next_stats += self.cfg.output.stats_interval_s
        try:
            self.publisher.publish_stats(self.stats())
        except Exception:  # noqa: BLE001 - health reporting must never stop the results
            logger.exception("stats report failed")

    def _shut_down(self, stop: threading.Event) -> None:
        """Producers first (page, video, channels' inputs), then the last events, then the publisher flushes with
        whatever time remains of STOP_BUDGET_S."""
        stop.set()
        deadline = time.monotonic() + STOP_BUDGET_S

        def left() -> float:
            return max(0.05, deadline - time.monotonic())

        if self.notifier is not None:
            self.notifier.stopping()
        if self.server is not None:
            self.server.close(timeout=min(left(), 0.5))
        for ch in self.channels.values():  # the frame capture with its channel
            ch.close(timeout=min(left(), 0.5))
        self._finish_events()
        self.publisher.close(timeout=left())

    def _finish_events(self) -> None:
        """`end` events for the faces still tracked: a dashboard sees every track closed."""
        for ch in self.channels.values():
            try:
                for event in ch.finish(time.time()):
                    self.publisher.publish_event(event)
            except Exception:  # noqa: BLE001 - shutting down in order matters more than the last events
                logger.exception("%s channel: final events failed", ch.name)

    def start_page(self, stop: threading.Event) -> None:
        """The live page ([http]); a port that cannot be bound is logged and the loop goes on without the page."""
        from .web.live import LiveState, publisher_collector
        from .web.server import LiveServer

        self.live = LiveState(self.cfg.http.timeline_s)
        self.live.collectors.append(publisher_collector(self.publisher))
        self.live.collectors.append(self._collect_counters)
        try:
            self.server = LiveServer(self.cfg.http, self.live, stop, token=self.page_token).start()
        except OSError as e:
            logger.error("%s; running on without the live page", e)
            self.live = self.server = None

    def _collect_counters(self, e) -> None:
        """The channels' counters on /metrics (texts received, cut, dropped, without emotion; tracks; ...)."""
        counts: dict[str, int] = {"resolution_changes": self.resolution_changes}
        for ch in list(self.channels.values()):
            try:
                counts.update(ch.stats())
            except Exception:  # noqa: BLE001 - a channel's figures must never break /metrics
                continue
        e.family("channel_events_total", "counter", "Channel counters by kind (texts, texts_cut, texts_dropped, "
                 "texts_without_emotion, tracks, audio_windows, resolution_changes).",
                 [({"kind": k}, v) for k, v in counts.items() if isinstance(v, (int, float))])

    def stats(self) -> dict[str, Any]:
        up = time.monotonic() - self.started
        s = {"uptime_s": round(up, 1), "processed": self.processed, "fps": round(self.processed / up, 2) if up else 0.0,
             "dropped_frames": self.video.dropped if self.video else 0, "resolution_changes": self.resolution_changes}
        s.update(self.counters)
        for ch in self.channels.values():
            s.update(ch.stats())
        s["latency_ms"] = self.times.summary(result_mod.STAGES)
        s.update(process_stats())
        s["publisher"] = self.publisher.stats()
        return s
