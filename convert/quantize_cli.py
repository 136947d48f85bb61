"""`edge-convert quantize`: a trained `.keras` model -> TFLite/ONNX float32 and int8 artifacts with descriptions."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from .quantize import MIN_CALIBRATION, TARGETS, export_all, float32_model

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=("face", "text"), default="face", help="which model family (sets data, labels, preprocessing)")
    p.add_argument("--model", required=True, help="trained .keras model (train-face writes OUT/face.keras, train-text "
                                                  "OUT/text.keras with its vocabulary beside it)")
    p.add_argument("--data", required=True, help="training data, for the calibration set (text: the GoEmotions folder)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--stem", default=None, help="file name stem (default: the task name)")
    p.add_argument("--calib", type=int, default=1000, help=f"calibration samples from Training (at least {MIN_CALIBRATION})")
    p.add_argument("--targets", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    p.add_argument("--version", default="1", help="model version written into each description")
    p.add_argument("--mirror-average", action="store_true",
                   help="build flip test-time averaging into the graph (two passes per face, one model file)")
    p.add_argument("--logits", action="store_true",
                   help="export the class scores without the final softmax (XNNPACK runs no int8 SOFTMAX); the sidecar "
                        "tells the runtime to apply it")
    p.add_argument("--metrics", default=None, help="JSON file whose content goes into each description's `metrics`")


def _face(args: argparse.Namespace, model, metrics):
    from .face import task as face_task
    from .face.calibrate import sidecar_block
    from .face.models import mirror_average, without_softmax

    if args.logits:
        if args.mirror_average:
            raise SystemExit("--logits and --mirror-average: the in-graph average needs probabilities; choose one")
        model = without_softmax(model)
    if args.mirror_average:
        model = mirror_average(model)
    spec = face_task.preprocess_of(args.model)  # what train-face wrote beside the model (aligned or not)
    desc = face_task.description(args.version, args.mirror_average, metrics, spec)
    if args.logits:
        desc["postprocess"] = {"softmax": True}
    calibration = sidecar_block(args.model)  # calibrate-face wrote it beside the model
    if calibration:
        desc["calibration"] = calibration
    return model, face_task.calibration(args.data, args.calib, spec=spec), desc


def _text(args: argparse.Namespace, model, metrics):
    """The vocabulary travels with the model: copied into --out, its name and checksum in every description."""
    import shutil

    from .text import task as text_task

    folder = Path(args.model).parent
    vec = text_task.load_vectoriser(folder)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / vec.spec.vocabulary, Path(args.out) / vec.spec.vocabulary)
    return model, text_task.calibration(args.data, folder, args.calib), text_task.description(
        vec.spec, args.version, metrics, text_task.training_data(folder))


def run(args: argparse.Namespace) -> int:
    import keras

    model = float32_model(keras.saving.load_model(args.model, compile=False))  # a bf16-trained model computes in float32
    metrics = json.loads(Path(args.metrics).read_text()) if args.metrics else None
    model, calib, desc = {"face": _face, "text": _text}[args.task](args, model, metrics)
    paths = export_all(model, calib, args.out, args.stem or args.task, desc, tuple(args.targets))
    for target, path in paths.items():
        print(f"{target}: {path}")
    return 0
