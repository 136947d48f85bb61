"""`edge-convert`: a thin dispatcher; each subcommand lives in its own module with add_arguments() and run()."""

from __future__ import annotations

import argparse
import importlib
import logging
import platform
import sys

# subcommand -> (module, one-line help). Modules are imported only when their subcommand runs,
# so `edge-convert --help` needs no TensorFlow.
COMMANDS = {
    "train-face": ("convert.face.train", "train the face-expression model on FER2013 (its FER+ votes with --ferplus)"),
    "train-audio": ("convert.voice.train", "train the voice model on Emo-DB, RAVDESS and nEMO (--train-corpora): "
                    "speaker-held-out folds, then on all"),
    "train-text": ("convert.text.train", "train the text model on GoEmotions (Ekman grouping onto the face labels) and MELD"),
    "calibrate-face": ("convert.face.calibrate", "fit temperature and class-prior adjustment on PublicTest, fold them into the model"),
    "quantize": ("convert.quantize_cli", "Keras model -> TFLite/ONNX float32 and int8, with descriptions"),
    "validate-voice": ("convert.voice.validate", "voice model: LOSO report and shipped artifacts run through edge/"),
    "validate-text": ("convert.text.validate", "text model: GoEmotions test and our own sentences through edge/"),
    "validate": ("convert.face.validate", "evaluate model artifacts through edge/ and write the report"),
    "macs": ("convert.macs", "count each model's multiply-accumulates per inference into its sidecar"),
    "demo-clip": ("convert.clips.demo", "build the bundled demo clip (edge/sample/) from face-photos and Emo-DB"),
    "tracking-clip": ("convert.clips.tracking", "build the two-face clip with ground truth that measures tracking"),
    "dequantize": ("convert.dequantize", "int8 TFLite CNN -> the float Keras model of its weights (to re-export without retraining)"),
}


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
    argv = sys.argv[1:] if argv is None else argv
    # Only the chosen subcommand's module is imported (the others may need packages not installed).
    chosen = next((a for a in argv if a in COMMANDS), None)
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        if name == chosen:
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(func=mod.run)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
