"""`edge-convert`: a thin dispatcher; each subcommand lives in its own module with add_arguments() and run()."""

from __future__ import annotations

import argparse
import importlib
import logging
import platform
import sys

logger = logging.getLogger(__name__)
# subcommand -> (module, one-line help). Modules are imported only when their subcommand runs,
# so `edge-convert --help` needs no TensorFlow.
COMMANDS = {
    "train-face": ("convert.face.train", "train the face-expression model on FER2013 (its FER+ votes with --ferplus)"),
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
    # Only the chosen subcommand's module is imported (the others may need packages not installed).
    at = next((i for i, a in enumerate(argv) if a in COMMANDS or a in RENAMED), None)
    renamed = argv[at] if at is not None and argv[at] in RENAMED else None
    if renamed:
        argv[at] = RENAMED[renamed]
    chosen = argv[at] if at is not None else None
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        if name == chosen:
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(func=mod.run)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if renamed:
        logger.warning("`edge-convert %s` is now `edge-convert %s`; the old name still works, for now", renamed,
                       RENAMED[renamed])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
