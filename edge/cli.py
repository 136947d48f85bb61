"""`edge-emotion`: run the live loop, infer on files, check a config, install the service."""

from __future__ import annotations

import os
import signal
import sys

# Started as the program (`edge-emotion`, `python -m edge.cli`): until main() takes the signals over, Ctrl-C ends the
# process the way an uncaught KeyboardInterrupt would (status -SIGINT) but without a traceback from inside an
# import. Imported as a module (tests, other code), it changes nothing.
_PROGRAM = __name__ == "__main__" or os.path.basename(sys.argv[0] if sys.argv else "") == "edge-emotion"
if _PROGRAM:
    signal.signal(signal.SIGINT, signal.SIG_DFL)

import argparse  # noqa: E402 - after the signal set-up above, on purpose
import logging  # noqa: E402
import math  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from . import __version__  # noqa: E402
from . import config as config_mod  # noqa: E402
from .errors import EXIT_CONFIG, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNAVAILABLE, exit_code  # noqa: E402
from .registry import BACKENDS, DETECTORS, PUBLISHERS, TEXT_SOURCES, spoken  # noqa: E402
from .capture.stoppable import exit_now_if_abandoned  # noqa: E402

logger = logging.getLogger("edge")

# Flags that override one config key each: flag -> (section.key, type, help).
OVERRIDES = {
    "--video": ("video.source", str, "video source (overrides video.source)"),
    "--audio": ("audio.source", str, "audio source: mic, a WAV file, sample or none (overrides audio.source)"),
    "--fps": ("output.fps", float, "cap on processed frames per second"),
    "--max-faces": ("detect.max_faces", int, "most faces classified per frame"),
    "--detector": ("detect.detector", str, spoken(DETECTORS)),
    "--backend": ("models.backend", str, spoken(("auto",) + tuple(BACKENDS))),
    "--threads": ("models.threads", int, "threads per model"),
    "--face-model": ("models.face", str, "face model file (.tflite/.onnx with its .json sidecar)"),
    "--voice-model": ("models.voice", str, "voice model file"),
    "--text-model": ("models.text", str, "text model file (its vocabulary beside it)"),
    "--publisher": ("output.publisher", str, spoken(PUBLISHERS)),
    "--mqtt-host": ("mqtt.host", str, "MQTT broker host"),
    "--mqtt-port": ("mqtt.port", int, "MQTT broker port"),
    "--http-port": ("http.port", int, "port of the live page (with --http)"),
    "--http-host": ("http.host", str, "address the live page listens on (with --http; beyond 127.0.0.1 needs a token)"),
}
# Switches that turn one boolean config key on: flag -> (section.key, help).
SWITCHES = {
    "--http": ("http.enabled", "serve the live page, /metrics and /healthz (http.enabled)"),
    "--events": ("events.stdout", "also write tracked-face events as JSON lines on stdout (events.stdout)"),
}


# `--text -` is stdin, as usual on a command line.
TEXT_HELP = "text source: " + spoken([f"'-' (stdin, {e.doc})" if e.name == "stdin" else f"{e.name} ({e.doc})"
                                      for e in TEXT_SOURCES.values()] + ["none"]) + " (overrides text.source)"


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="TOML configuration file")
    for flag, (_, tp, help_) in OVERRIDES.items():
        p.add_argument(flag, type=tp, help=help_, dest=flag[2:].replace("-", "_"))
    for flag, (_, help_) in SWITCHES.items():
        p.add_argument(flag, action="store_true", default=None, help=help_, dest=flag[2:].replace("-", "_"))
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), help="overrides service.log_level")


def load_config(args: argparse.Namespace) -> config_mod.Config:
    cfg = config_mod.load(args.config)
    dotted = {}
    if getattr(args, "source", None):
        dotted["video.source"] = args.source
        if args.source == "sample":
            dotted["audio.source"] = "sample"
    for flag, (key, _, _) in OVERRIDES.items():
        v = getattr(args, flag[2:].replace("-", "_"), None)
        if v is not None:
            dotted[key] = v
    for flag, (key, _) in SWITCHES.items():
        if getattr(args, flag[2:].replace("-", "_"), None):
            dotted[key] = True
    if getattr(args, "no_video", False):
        dotted["video.source"] = "none"
    if getattr(args, "no_audio", False):
        dotted["audio.source"] = "none"
    if getattr(args, "text_source", None):
        dotted["text.source"] = {"-": "stdin"}.get(args.text_source, args.text_source)
    if getattr(args, "text_topic", None):
        dotted["text.topic"] = args.text_topic
    if args.log_level:
        dotted["service.log_level"] = args.log_level
    return config_mod.override(cfg, dotted) if dotted else cfg


def _setup_logging(level: str) -> None:
    # Logs go to stderr (the journal under systemd); stdout carries only JSON results.
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


class StopGuard:
    """The backstop of "every stop within 2 s": once a stop is requested, exit when the phase in progress overruns.

    Every phase stops by itself (sources open in threads, waits are bounded, publishers flush within a budget);
    a model still loading from a slow SD card is C code no signal interrupts, and this ends it.
    """

    GRACE_S = 1.5  # well inside 2 s on a loaded machine, where waking the guard and exiting take a while too

    def __init__(self) -> None:
        self.phase = "starting"
        self._armed = False

    def arm(self) -> None:
        if self._armed:
            return
        self._armed = True
        threading.Thread(target=self._expire, name="stop-guard", daemon=True).start()

    def _expire(self) -> None:
        time.sleep(self.GRACE_S)
        # Straight to the descriptor: the stuck phase may hold the logging handler's lock (a blocked stderr).
        try:
            os.write(2, f"WARNING edge: still {self.phase} {self.GRACE_S:.1f} s after the stop request; "
                        "exiting now\n".encode())
        except OSError:
            pass
        os._exit(EXIT_OK)


class SignalWatch:
    """SIGTERM and SIGINT during `run`, turned into the stop event by a thread of their own.

    A Python signal handler runs in the main thread between two bytecodes, which may fall inside `stop.wait()`
    while that thread holds the event's lock (not reentrant): setting the event from the handler then hangs the
    process for good, and the stop guard is never armed (a SIGTERM hung `run` once in the fresh-clone CI: "received
    SIGTERM, stopping", then nothing). So the handler does nothing; the interpreter's C-level handler writes the
    signal's number to a socket (signal.set_wakeup_fd), and this thread, blocked on that socket, sets the event.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, stop: threading.Event, guard: StopGuard) -> None:
        self.stop, self.guard = stop, guard
        self._r, self._w = socket.socketpair()
        self._w.setblocking(False)
        signal.set_wakeup_fd(self._w.fileno(), warn_on_full_buffer=False)
        for sig in self.SIGNALS:
            signal.signal(sig, self._recorded)
        threading.Thread(target=self._watch, name="signal-watch", daemon=True).start()

    @staticmethod
    def _recorded(signum, _frame) -> None:
        """Installed so that the signal is caught; the wakeup socket carries it to `_watch`."""

    def _watch(self) -> None:
        with self._r:
            while True:
                try:
                    data = self._r.recv(1)
                except OSError:
                    return
                if not data:  # close(): the run is over
                    return
                if data[0] in self.SIGNALS:
                    break
        logger.info("received %s, stopping", signal.Signals(data[0]).name)
        self.stop.set()
        self.guard.arm()

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        self._w.close()  # the watcher's recv sees the end of the stream


def validate(cfg: config_mod.Config):
    """Everything `run` checks before it loads models and opens a camera; `check-config` runs exactly this too.

    Returns the publisher class (its package is imported now, so a missing one is reported before any work).
    """
    from .preflight import check
    from .publish import publisher_class

    check(cfg)
    return publisher_class(cfg.output.publisher)


def startup_failure(e: BaseException, where: str = "edge-emotion") -> int:
    """One line per problem (no traceback unless it is a bug) and the exit status for it."""
    code = exit_code(e)
    if isinstance(e, config_mod.ConfigError):
        for err in e.errors:
            print(f"{where}: config error: {err}", file=sys.stderr)
    elif code == EXIT_ERROR:
        logger.exception("%s: unexpected failure at start-up", where)
    else:
        print(f"{where}: {e}", file=sys.stderr)
    return code


def cmd_run(args: argparse.Namespace) -> int:
    stop, guard = threading.Event(), StopGuard()
    # First of all, before the heavy imports below (numpy, OpenCV, the runtimes: up to a second on a Pi): a signal
    # from here on only sets the stop event, never a KeyboardInterrupt traceback from inside an import.
    watch = SignalWatch(stop, guard)
    try:
        return _run(args, stop, guard)
    finally:
        watch.close()


def _run(args: argparse.Namespace, stop: threading.Event, guard: StopGuard) -> int:
    guard.phase = "importing"
    from .service.notify import Notifier
    from .pipeline import Pipeline

    cfg = load_config(args)
    _setup_logging(cfg.service.log_level)
    if stop.is_set():  # stopped while importing: nothing was started
        return EXIT_OK
    publisher = None
    try:
        guard.phase = "checking the configuration"
        publisher_cls = validate(cfg)
        guard.phase = "starting the publisher"
        publisher = publisher_cls.from_config(cfg)
        guard.phase = "loading the models"
        notifier = Notifier.from_env(watchdog=cfg.service.watchdog)
        pipeline = Pipeline(cfg, publisher, notifier)
    except Exception as e:  # noqa: BLE001 - each start-up failure gets its exit status and one clean line
        if publisher is not None:
            publisher.close(timeout=0.5)
        return startup_failure(e)
    logger.info("models loaded in %.2f s: %s", pipeline.load_s, pipeline.loaded_models())
    if stop.is_set():  # stopped while the models loaded: no source is opened
        publisher.close(timeout=0.5)
        return EXIT_OK
    guard.phase = "running the loop"
    code = pipeline.run(stop)
    guard.phase = "exiting"
    exit_now_if_abandoned(code)  # a source still stuck in C++ must not be met by the interpreter's finalisation
    return code


def _sample_fps(text: str) -> float:
    v = float(text)
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a finite number of frames per second, 0 or more")
    return v


def cmd_infer(args: argparse.Namespace) -> int:
    from .infer import infer_paths

    cfg = load_config(args)
    _setup_logging(cfg.service.log_level)
    if sys.stdout is None:
        print("edge-emotion: standard output is closed (started with >&-?): redirect it, e.g. > results.jsonl",
              file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        return infer_paths(cfg, args.paths, crop=args.crop, sample_fps=args.sample_fps, texts=args.text)
    except Exception as e:  # noqa: BLE001 - start-up failures (models, packages); inputs fail one by one inside
        return startup_failure(e)


def cmd_check_config(args: argparse.Namespace) -> int:
    """What `run` validates before it opens a camera: the file, the files it names, the models and packages."""
    from .pipeline import Pipeline

    try:
        cfg = config_mod.load(args.file)
        validate(cfg)
        pipeline = Pipeline(cfg, publisher=None)
    except Exception as e:  # noqa: BLE001 - every failure is reported with its exit status
        return startup_failure(e, args.file)
    print(f"{args.file}: OK (video {cfg.video.source!r}, audio {cfg.audio.source!r}, "
          f"{len(pipeline.channels)} model(s) loaded in {pipeline.load_s:.2f} s)")
    return EXIT_OK


def cmd_config_doc(args: argparse.Namespace) -> int:
    print(config_mod.describe())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-emotion", description=__doc__)
    parser.add_argument("--version", action="version", version=f"edge-emotion {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the live capture-detect-classify-fuse-publish loop")
    _add_common(p)
    p.add_argument("--source", help="'sample' plays the bundled demo clip (video and audio); else a video source")
    p.add_argument("--no-video", action="store_true", help="turn the camera side off")
    p.add_argument("--no-audio", action="store_true", help="turn the microphone side off")
    p.add_argument("--text", dest="text_source", metavar="SOURCE", help=TEXT_HELP)
    p.add_argument("--text-topic", help="MQTT topic carrying texts (overrides text.topic)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("infer", help="classify images, videos, WAV and text files (or folders of them) and sentences, "
                                     "one JSON line each (one per line of a .txt file)")
    _add_common(p)
    p.add_argument("paths", nargs="*", help="files or folders")
    p.add_argument("--text", action="append", default=[], metavar="SENTENCE",
                   help="classify this text (repeatable); its result's `input` is the text itself")
    p.add_argument("--crop", action="store_true", help="images are already-cropped faces: skip detection")
    p.add_argument("--sample-fps", type=_sample_fps, default=5.0, help="frames per second analysed in videos (default 5)")
    p.set_defaults(func=cmd_infer)

    p = sub.add_parser("check-config", help="check a TOML configuration as `run` does before opening a camera "
                                            "(keys, files it names, models); exit 0, 2 (config) or 3 (a package)")
    p.add_argument("file")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("config-doc", help="print every configuration key with its default and description")
    p.set_defaults(func=cmd_config_doc)

    try:
        from .service.install import register
    except ImportError:  # pragma: no cover - the installer module is part of the package
        register = None
    if register is not None:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    if _PROGRAM and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)  # from here on Ctrl-C is handled below
    command = (sys.argv[1:] if argv is None else argv)[:1]
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return args.func(args)
    except config_mod.ConfigError as e:
        where = "" if e.source in ("config", "command line") else f"{e.source}: "
        for err in e.errors:
            print(f"edge-emotion: config error: {where}{err}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:  # Ctrl-C in `infer`, `check-config` or before `run` took the signals over
        print("edge-emotion: interrupted", file=sys.stderr)
        return EXIT_OK if command == ["run"] else EXIT_INTERRUPTED  # `run` stopped by SIGINT: 0 in every phase
    finally:
        # The work is done and the status chosen: a Ctrl-C from here on is ignored. Python's teardown (unloading
        # TFLite, onnxruntime, OpenCV: tens of ms) puts SIGINT back to its default action, and a Ctrl-C in that
        # window killed the process by the signal instead of ending it with the status above (measured: 5-10 of
        # 60 check-config runs interrupted at a random moment).
        if _PROGRAM and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(main())
