"""`edge-emotion`: run the live loop, infer on files, check a config, install the service."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from . import __version__
from . import config as config_mod
from .pipeline import EXIT_CONFIG, EXIT_UNAVAILABLE

logger = logging.getLogger("edge")

# Flags that override one config key each: flag -> (section.key, type, help).
OVERRIDES = {
    "--video": ("video.source", str, "video source (overrides video.source)"),
    "--audio": ("audio.source", str, "audio source: mic, a WAV file, sample or none (overrides audio.source)"),
    "--fps": ("output.fps", float, "cap on processed frames per second"),
    "--max-faces": ("detect.max_faces", int, "most faces classified per frame"),
    "--detector": ("detect.detector", str, "blazeface, blazeface-full, haar or mediapipe"),
    "--backend": ("models.backend", str, "auto, litert, tflite-runtime or onnxruntime"),
    "--threads": ("models.threads", int, "threads per model"),
    "--face-model": ("models.face", str, "face model file (.tflite/.onnx with its .json sidecar)"),
    "--voice-model": ("models.voice", str, "voice model file"),
    "--publisher": ("output.publisher", str, "stdout or mqtt"),
    "--mqtt-host": ("mqtt.host", str, "MQTT broker host"),
    "--mqtt-port": ("mqtt.port", int, "MQTT broker port"),
}


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="TOML configuration file")
    for flag, (_, tp, help_) in OVERRIDES.items():
        p.add_argument(flag, type=tp, help=help_, dest=flag[2:].replace("-", "_"))
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
    if getattr(args, "no_video", False):
        dotted["video.source"] = "none"
    if getattr(args, "no_audio", False):
        dotted["audio.source"] = "none"
    if args.log_level:
        dotted["service.log_level"] = args.log_level
    return config_mod.override(cfg, dotted) if dotted else cfg


def _setup_logging(level: str) -> None:
    # Logs go to stderr (the journal under systemd); stdout carries only JSON results.
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def cmd_run(args: argparse.Namespace) -> int:
    from .notify import Notifier
    from .pipeline import Pipeline
    from .publish import publisher_class

    cfg = load_config(args)
    _setup_logging(cfg.service.log_level)
    stop = threading.Event()

    def on_signal(signum, _frame):
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    try:
        publisher = publisher_class(cfg.output.publisher)(cfg.mqtt) if cfg.output.publisher == "mqtt" \
            else publisher_class(cfg.output.publisher)()
        notifier = Notifier.from_env() if cfg.service.watchdog else Notifier.from_env(watchdog=False)
        pipeline = Pipeline(cfg, publisher, notifier)
    except (OSError, RuntimeError, ValueError) as e:
        logger.error("%s", e)
        return EXIT_UNAVAILABLE
    logger.info("models loaded in %.2f s", pipeline.load_s)
    try:
        return pipeline.run(stop)
    except OSError as e:  # a source that cannot be opened at start-up
        logger.error("%s", e)
        return EXIT_UNAVAILABLE


def cmd_infer(args: argparse.Namespace) -> int:
    from .infer import infer_paths

    cfg = load_config(args)
    _setup_logging(cfg.service.log_level)
    try:
        return infer_paths(cfg, args.paths, crop=args.crop, sample_fps=args.sample_fps)
    except (OSError, RuntimeError, ValueError) as e:
        logger.error("%s", e)
        return EXIT_UNAVAILABLE


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        config_mod.load(args.file)
    except config_mod.ConfigError as e:
        for err in e.errors:
            print(f"{args.file}: {err}", file=sys.stderr)
        return 1
    print(f"{args.file}: OK")
    return 0


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
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("infer", help="classify images, videos and WAV files (or folders of them), one JSON line each")
    _add_common(p)
    p.add_argument("paths", nargs="+", help="files or folders")
    p.add_argument("--crop", action="store_true", help="images are already-cropped faces: skip detection")
    p.add_argument("--sample-fps", type=float, default=5.0, help="frames per second analysed in videos (default 5)")
    p.set_defaults(func=cmd_infer)

    p = sub.add_parser("check-config", help="validate a TOML configuration; exit 0 or 1 with the reasons")
    p.add_argument("file")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("config-doc", help="print every configuration key with its default and description")
    p.set_defaults(func=cmd_config_doc)

    try:
        from .service import register
    except ImportError:  # pragma: no cover - the installer module is part of the package
        register = None
    if register is not None:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except config_mod.ConfigError as e:
        for err in e.errors:
            print(f"edge-emotion: config error: {err}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
