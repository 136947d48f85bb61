"""`edge-convert`: a thin dispatcher; each subcommand lives in its own module with add_arguments() and run()."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import platform
import sys
import tempfile

logger = logging.getLogger(__name__)
# subcommand -> (module, one-line help). Modules are imported only when their subcommand runs,
# so `edge-convert --help` needs no TensorFlow.
COMMANDS = {
    "train-face": ("convert.face.train", "train the face-expression model on FER2013 (its FER+ votes with --ferplus)"),
    "teach-face": ("convert.face.teachers", "the real-photo teachers' probabilities on FER2013 faces, cached for train-face --soft-labels"),
    "calibrate-face": ("convert.face.calibrate", "fit temperature and class-prior adjustment on PublicTest, fold them into the model"),
    "validate-face": ("convert.face.validate", "face model: artifacts through edge/ on FER2013 PrivateTest, and the report"),
    "train-voice": ("convert.voice.train", "train the voice model on Emo-DB, RAVDESS and nEMO (--train-corpora): "
                    "speaker-held-out folds, then on all"),
    "validate-voice": ("convert.voice.validate", "voice model: LOSO report and shipped artifacts run through edge/"),
    "train-text": ("convert.text.train", "train the text model on GoEmotions (Ekman grouping onto the face labels) and MELD"),
    "validate-text": ("convert.text.validate", "text model: GoEmotions test and our own sentences through edge/"),
    "quantize": ("convert.quantize_cli", "Keras model -> TFLite/ONNX float32 and int8, with descriptions"),
    "macs": ("convert.macs", "count each model's multiply-accumulates per inference into its sidecar"),
    "dequantize": ("convert.dequantize", "int8 TFLite CNN -> the float Keras model of its weights (to re-export without retraining)"),
    "demo-clip": ("convert.clips.demo", "build the bundled demo clip (edge/sample/) from face-photos and Emo-DB"),
    "tracking-clip": ("convert.clips.tracking", "build the two-face clip with ground truth that measures tracking"),
}
# Old names, still accepted (with a one-line warning) so that existing scripts and notes keep working; the
# commands are named ACTION-MODEL (train-voice beside validate-voice), the shared steps by their action alone.
RENAMED = {"train-audio": "train-voice", "validate": "validate-face"}


# Libraries whose own log drowns the one line that matters; shown again with --log-level DEBUG.
QUIET_LOGGERS = ("tensorflow", "absl", "tf2onnx", "onnxruntime", "keras", "h5py")


def quiet_tensorflow(debug: bool) -> None:
    """Hide TensorFlow's C++ log (about 50 lines per conversion) unless debugging. Must run before TF is imported:
    TF_CPP_MIN_LOG_LEVEL and the absl/glog levels are read once, at import."""
    if debug:
        return
    for key, value in (("TF_CPP_MIN_LOG_LEVEL", "3"), ("ABSL_MIN_LOG_LEVEL", "3"), ("GLOG_minloglevel", "3"),
                       ("GRPC_VERBOSITY", "ERROR")):
        os.environ.setdefault(key, value)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:  # absl's Python logger prints its own warnings before Python logging is configured
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass


class _Stderr:
    """Log records go to whatever sys.stderr is when they are written (hidden_native_log swaps it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@contextlib.contextmanager
def hidden_native_log(hide: bool):
    """Send what C++ libraries write to file descriptor 2 to a scratch file, Python's stderr still to the terminal.

    TensorFlow 2.21 writes its start-up lines ("All log messages before absl::InitializeLog() ...", oneDNN, CUDA)
    before TF_CPP_MIN_LOG_LEVEL is read, and the converter logs each pass; no setting reaches them.
    """
    if not hide:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    python_stderr, sink = sys.stderr, tempfile.TemporaryFile()
    try:
        os.dup2(sink.fileno(), 2)
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, errors="backslashreplace")
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)
        sink.close()


def one_line(command: str, error: BaseException) -> str:
    """A failure as one line: what went wrong, and (for a failure we did not foresee) how to see the traceback."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, ModuleNotFoundError):
        return (f"edge-convert {command}: needs the Python package {error.name!r}; install the workstation extras "
                "with: pip install -e '.[convert]'")
    if isinstance(error, (ValueError, OSError)):  # ours say what to do; a missing file names itself
        return f"edge-convert {command}: {text}"
    return f"edge-convert {command}: {type(error).__name__}: {text} (run with --log-level DEBUG for the traceback)"


def exit_status(error: BaseException) -> int:
    """2 for what the command line or its files got wrong (fix and re-run), 1 for anything else."""
    return 2 if isinstance(error, (ValueError, OSError, ImportError)) else 1


# TensorFlow 2.16+, tf2onnx and the training code need 3.10; the device runtime (edge/) alone runs on 3.8.
MIN_PYTHON = (3, 10)


def main(argv: list[str] | None = None) -> int:
    if sys.version_info < MIN_PYTHON:
        print(f"edge-convert: the workstation stage needs Python {'.'.join(map(str, MIN_PYTHON))} or newer, this is "
              f"{platform.python_version()}; run it on a workstation (edge-emotion and edge-bench run here)", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="edge-convert", description="Workstation stage: train, quantize and validate the models edge/ runs.")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--log-level", default="INFO")
    debug = pre.parse_known_args(argv)[0].log_level.upper() == "DEBUG"
    quiet_tensorflow(debug)
    # Only the chosen subcommand's module is imported (the others may need packages not installed).
    at = next((i for i, a in enumerate(argv) if a in COMMANDS or a in RENAMED), None)
    renamed = argv[at] if at is not None and argv[at] in RENAMED else None
    if renamed:
        argv[at] = RENAMED[renamed]
    chosen = argv[at] if at is not None else None
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        if name == chosen:
            try:
                mod = importlib.import_module(module)
            except ImportError as e:
                if debug:
                    raise
                print(one_line(name, e), file=sys.stderr)
                return exit_status(e)
            mod.add_arguments(p)
            p.set_defaults(func=mod.run)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=_Stderr())
    if renamed:
        logger.warning("`edge-convert %s` is now `edge-convert %s`; the old name still works, for now", renamed,
                       RENAMED[renamed])
    try:
        with hidden_native_log(not debug):
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"edge-convert {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - one line that says what to do; the traceback only when debugging
        if debug:
            logger.exception("edge-convert %s failed", args.command)
        else:
            print(one_line(args.command, e), file=sys.stderr)
        return exit_status(e)


if __name__ == "__main__":
    sys.exit(main())
