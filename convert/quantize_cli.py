"""`edge-convert quantize`: a trained `.keras` model -> TFLite/ONNX float32 and int8 artifacts with descriptions."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from edge.audio.frontend import FUNCTIONALS, LOGMEL_DEFAULTS, NAMES as FRONT_END_NAMES

from .quantize import MIN_CALIBRATION, TARGETS, export_all, float32_model

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=("face", "voice", "text"), default="face",
                   help="which model family (sets data, labels, preprocessing); voice: a model of your own, with "
                        "--front-end (docs/models.md)")
    p.add_argument("--model", required=True, help="trained .keras or .h5 model (train-face writes OUT/face.keras, "
                                                  "train-text OUT/text.keras with its vocabulary beside it)")
    p.add_argument("--data", default=None, help="training data of the project's own model, for the calibration set "
                                                "(face: the FER2013 folder, text: the GoEmotions folder)")
    own = p.add_argument_group("a model of your own (docs/models.md)")
    own.add_argument("--calib-dir", default=None, help="folder of photos (face) or WAV files (voice) for calibration: "
                                                       "each goes through the device's crop or speech gate; instead "
                                                       "of --data")
    own.add_argument("--labels", default=None, help="comma-separated labels, in the order of the model's outputs")
    own.add_argument("--labels-file", default=None, help="file with one label per line, in the order of the outputs")
    own.add_argument("--outputs", choices=("probs", "logits"), default=None,
                     help="what the model outputs (default: told from its last activation or from its outputs on the "
                          "calibration samples); logits get a softmax on the device")
    own.add_argument("--scale", type=float, default=None, help="pixel p (0..255) is fed as (p * scale - mean) / std "
                                                               "(default 1/255)")
    own.add_argument("--mean", default=None, help="one value, or one per channel (R,G,B), e.g. 0.485,0.456,0.406 "
                                                  "(default 0)")
    own.add_argument("--std", default=None, help="one value, or one per channel, e.g. 0.229,0.224,0.225 (default 1)")
    own.add_argument("--crop-margin", type=float, default=None,
                     help="the face box grows by this fraction per side before the resize (default 0.15: forehead "
                          "and chin)")
    own.add_argument("--front-end", choices=FRONT_END_NAMES, default=None,
                     help="voice: what the model takes: waveform (16 kHz samples, as many as its input) or logmel "
                          "(log-mel frames, its input's frames x mels); functionals models come from train-voice")
    d = LOGMEL_DEFAULTS
    own.add_argument("--win-ms", type=float, default=None, help=f"logmel: frame window, ms (default {d['win_ms']:g})")
    own.add_argument("--hop-ms", type=float, default=None, help=f"logmel: hop between frames, ms (default {d['hop_ms']:g})")
    own.add_argument("--fmin", type=float, default=None, help=f"logmel: lowest mel band edge, Hz (default {d['fmin']:g})")
    own.add_argument("--fmax", type=float, default=None, help=f"logmel: highest mel band edge, Hz (default {d['fmax']:g})")
    own.add_argument("--log-offset", type=float, default=None,
                     help=f"logmel: frames are ln(mel power + offset) (default {d['log_offset']:g})")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--stem", default=None, help="file name stem and the sidecar's name (default: the task name; "
                                                "with --calib-dir the model file's stem)")
    p.add_argument("--calib", type=int, default=1000, help=f"calibration samples (faces, texts, voice windows) at most; at "
                                                             f"least {MIN_CALIBRATION} are needed")
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


def read_labels(args: argparse.Namespace) -> list[str]:
    """--labels or --labels-file, in the model's output order; duplicates and empty names refused."""
    if args.labels and args.labels_file:
        raise ValueError("give --labels or --labels-file, not both")
    if args.labels_file:
        labels = [line.strip() for line in Path(args.labels_file).read_text().splitlines() if line.strip()]
    elif args.labels:
        labels = [v.strip() for v in args.labels.split(",")]
    else:
        raise ValueError("a model of your own needs its labels: --labels a,b,c or --labels-file F, in output order")
    if not all(labels) or len(set(labels)) != len(labels):
        raise ValueError(f"labels {labels}: each must be a distinct, non-empty name")
    return labels


FACE_ONLY = ("scale", "mean", "std", "crop_margin")
LOGMEL_ONLY = tuple(LOGMEL_DEFAULTS)  # win_ms, hop_ms, fmin, fmax, log_offset
OWN_ONLY = ("labels", "labels_file", "outputs") + FACE_ONLY + LOGMEL_ONLY


def given_flags(args: argparse.Namespace, keys: tuple[str, ...]) -> list[str]:
    """The flags among `keys` the command line set, as it spells them."""
    return [f"--{k.replace('_', '-')}" for k in keys if getattr(args, k) is not None]


def per_channel(text: str | None, default: float, flag: str) -> float | list[float]:
    """--mean/--std: one number, or a comma-separated one per channel."""
    if text is None:
        return default
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        raise ValueError(f"{flag} {text}: give a number or one per channel, e.g. 0.485,0.456,0.406") from None
    return values[0] if len(values) == 1 else values


def check_inputs(args: argparse.Namespace) -> None:
    """What can be checked before TensorFlow loads (seconds): the files and folders the command line names."""
    if args.task == "voice" and args.front_end in (None, FUNCTIONALS):
        raise ValueError("--task voice: the project's functionals front end is trained and converted by train-voice "
                         "itself (edge-convert train-voice --out DIR); a voice model of your own takes --front-end "
                         "waveform or logmel with --calib-dir (a folder of WAV files); see docs/models.md")
    if args.front_end is not None and args.task != "voice":
        raise ValueError(f"--front-end {args.front_end} describes a voice model; add --task voice, or leave it out")
    model = Path(args.model)
    if not model.is_file():
        raise ValueError(f"--model {model}: no such file; pass the trained .keras or .h5 file")
    if model.suffix not in (".keras", ".h5"):
        raise ValueError(f"--model {model}: not a .keras or .h5 file; save the model with model.save('M.keras')")
    if args.task == "voice" and args.calib_dir is None:
        raise ValueError(f"--front-end {args.front_end}: a voice model of your own calibrates from --calib-dir (a "
                         "folder of WAV files of speech)")
    if (args.data is None) == (args.calib_dir is None):
        raise ValueError("give --calib-dir (a folder of photos, for a model of your own) or --data (the project's "
                         "training data), one of the two")
    given = given_flags(args, OWN_ONLY)
    if args.calib_dir is None and given:
        raise ValueError(f"{', '.join(given)} describe a model of your own and go with --calib-dir (a folder of "
                         "photos); the project's models take theirs from --data and their training")
    if args.calib_dir is not None:
        if args.logits or args.mirror_average:
            raise ValueError("--logits and --mirror-average are for the project's face model; for a model of your "
                             "own say --outputs logits if it ends without a softmax")
        if args.task == "text":
            raise ValueError("--calib-dir takes photos (face) or WAV files (voice); --task text calibrates from --data")
        what = "face photos" if args.task == "face" else "WAV files of speech"
        if not Path(args.calib_dir).is_dir():
            raise ValueError(f"--calib-dir {args.calib_dir}: no such folder; pass a folder of {what}")
        read_labels(args)
        if args.task == "voice":
            _check_voice_flags(args)
            return
        wrong = given_flags(args, LOGMEL_ONLY)
        if wrong:
            raise ValueError(f"{', '.join(wrong)} describe log-mel frames (--task voice --front-end logmel); a face "
                             "model takes --scale, --mean, --std and --crop-margin")
        std = per_channel(args.std, 1.0, "--std")
        per_channel(args.mean, 0.0, "--mean")
        if min(std if isinstance(std, list) else [std]) <= 0:
            raise ValueError(f"--std {args.std}: must be positive")


def _check_voice_flags(args: argparse.Namespace) -> None:
    """A voice model of your own takes no face flags, and a waveform one no log-mel flags."""
    wrong = given_flags(args, FACE_ONLY)
    if wrong:
        raise ValueError(f"{', '.join(wrong)} describe face crops; a voice model takes none of them")
    wrong = given_flags(args, LOGMEL_ONLY)
    if wrong and args.front_end != "logmel":
        raise ValueError(f"{', '.join(wrong)} describe log-mel frames; --front-end {args.front_end} feeds the "
                         "samples as they are, so leave them out (or say --front-end logmel)")


def outputs_kind(model, calib) -> str:
    """"probs" when the model ends in a softmax (its last activation, or outputs that sum to 1 on the calibration
    faces), else "logits"."""
    import numpy as np

    last = model.layers[-1]
    act = getattr(getattr(last, "activation", None), "__name__", "")
    if act == "softmax" or type(last).__name__ == "Softmax":
        return "probs"
    y = np.asarray(model(calib[:64], training=False))
    # 1e-3: float32 softmax sums are within 1e-6 of 1; logits sum to 1 only by accident, and never all 64 of them.
    return "probs" if (y >= 0).all() and np.allclose(y.sum(-1), 1.0, atol=1e-3) else "logits"


def own_labels(args: argparse.Namespace, model) -> list[str]:
    """A model of your own's labels, checked against it: one per output, and a float input to quantize."""
    labels = read_labels(args)
    n_out = int(model.outputs[0].shape[-1])
    if n_out != len(labels):
        raise ValueError(f"{len(labels)} labels given, the model outputs {n_out} scores; give one label per output, "
                         "in its order")
    dtype = str(getattr(model.inputs[0], "dtype", "float32"))
    if "float" not in dtype:
        raise ValueError(f"the model's input is {dtype}; edge-convert takes a model with float input (the int8 "
                         "input is made by the quantizer)")
    return labels


def own_description(args: argparse.Namespace, model, calib, labels: list[str], spec: dict, metrics,
                    what: str) -> dict:
    """The sidecar fields of a model of your own; softmax on the device when it outputs logits."""
    kind = args.outputs or outputs_kind(model, calib)
    logger.info("outputs: %s%s", kind, "" if args.outputs else " (told from the model; --outputs to say otherwise)")
    desc = {"name": args.stem, "task": args.task, "version": args.version, "labels": labels, "preprocess": spec,
            "training_data": {"dataset": "not recorded (a model of your own)",
                              "calibration": f"{len(calib)} {what} from {Path(args.calib_dir).name}/"}}
    if kind == "logits":
        desc["postprocess"] = {"softmax": True}
    if metrics:
        desc["metrics"] = metrics
    return desc


def _own_face(args: argparse.Namespace, model, metrics):
    """A face classifier of your own: shape, colour and label count from the model, calibration from photos."""
    from .face import photos

    labels = own_labels(args, model)
    scale = 1.0 / 255.0 if args.scale is None else args.scale  # 8-bit pixels to 0..1, what most models were trained on
    spec = photos.own_preprocess(tuple(model.inputs[0].shape[1:]), scale, per_channel(args.mean, 0.0, "--mean"),
                                 per_channel(args.std, 1.0, "--std"),
                                 0.15 if args.crop_margin is None else args.crop_margin)
    calib = photos.calibration(args.calib_dir, spec, args.calib, MIN_CALIBRATION)
    desc = own_description(args, model, calib, labels, spec, metrics, "faces")
    desc["graph"] = {"mirror_average": False}
    return model, calib, desc


def _own_voice(args: argparse.Namespace, model, metrics):
    """A voice classifier of your own: window size and label count from the model, calibration from WAV files."""
    from .voice import own

    labels = own_labels(args, model)
    shape = tuple(model.inputs[0].shape[1:])
    spec = own.own_preprocess(args.front_end, shape, {k: getattr(args, k) for k in LOGMEL_ONLY
                                                      if getattr(args, k) is not None})
    calib = own.calibration(args.calib_dir, spec, shape, args.calib, MIN_CALIBRATION)
    return model, calib, own_description(args, model, calib, labels, spec, metrics, "windows")


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
    check_inputs(args)
    # The sidecar's name is the file stem: a model of your own is named after its file unless --stem says otherwise.
    args.stem = args.stem or (Path(args.model).stem if args.calib_dir else args.task)
    import keras

    try:
        loaded = keras.saving.load_model(args.model, compile=False)
    except (ValueError, OSError, TypeError) as e:  # Keras says "File not found" of a file it cannot unzip
        raise ValueError(f"--model {args.model}: Keras cannot load it ({' '.join(str(e).split())[:200]}); pass a model "
                         "saved with model.save('M.keras') or .h5, with its custom layers importable") from e
    model = float32_model(loaded)  # a bf16-trained model computes in float32
    metrics = json.loads(Path(args.metrics).read_text()) if args.metrics else None
    build = ({"face": _own_face, "voice": _own_voice} if args.calib_dir else {"face": _face, "text": _text})[args.task]
    model, calib, desc = build(args, model, metrics)
    paths = export_all(model, calib, args.out, args.stem, desc, tuple(args.targets))
    for target, path in paths.items():
        print(f"{target}: {path}")
    return 0
