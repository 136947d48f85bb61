"""`edge-convert calibrate-face`: temperature and class-prior (logit) adjustment, fitted on FER2013 PublicTest.

FER2013's label mix (Training: happy 25 %, neutral 17 %, sad 17 %, fear 14 %, angry 14 %, surprise 11 %,
disgust 1.5 %) is not a room's. The stated deployment prior is edge.labels.NATURAL_MIX (neutral 50 %, happy 40 %,
the other five 2 % each), and the target prior is a family between uniform and that mix:

    target(tau) ~ NATURAL_MIX ** tau          (tau = 0: uniform, every class equally likely; tau = 1: the mix)
    output      = softmax(z / T + log target(tau) - log train_prior)

T minimises the negative log-likelihood on PublicTest (with no prior shift). tau maximises the mean of balanced
accuracy and natural-mix accuracy on PublicTest (per-class recall; both re-weight PublicTest by class, so its own
label mix does not matter). Nothing here looks at real photos (face-photos is for evaluation only).

T is folded into the model's last Dense layer (convert.face.models.calibrated): the file's probabilities are
calibrated for FER2013's own mix, which is what PrivateTest measures. The prior shift is a deployment choice, so it
goes into the sidecar (`calibration.prior_shift`, written by `edge-convert quantize` from `<model>.calibration.json`)
and the device applies it (`models.face_prior = "natural"`, the default; "training" leaves it off).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from edge.labels import FACE_LABELS, NATURAL_MIX

from ..report import ece, metrics, mix_scores

logger = logging.getLogger(__name__)

TEMPERATURES = np.round(np.arange(0.5, 3.001, 0.01), 2)
TAUS = np.round(np.arange(0.0, 1.001, 0.05), 2)


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T on the grid with the lowest mean negative log-likelihood of the true class."""
    nll = [-log_softmax(logits / t)[np.arange(len(y)), y].mean() for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(nll))])


def target_prior(tau: float) -> np.ndarray:
    p = np.array([NATURAL_MIX[c] for c in FACE_LABELS]) ** tau
    return p / p.sum()


def prior_shift(tau: float, train_prior: np.ndarray) -> np.ndarray:
    return np.log(target_prior(tau)) - np.log(train_prior)


def scores(logits: np.ndarray, y: np.ndarray, prior: np.ndarray) -> dict:
    """PublicTest figures of one calibration: accuracy, balanced, natural-mix, neutral as angry, ECE under `prior`."""
    p = np.exp(log_softmax(logits))
    pred = p.argmax(1)
    m = metrics(y, pred, FACE_LABELS)
    counts = np.bincount(y, minlength=len(FACE_LABELS))
    weight = (prior / np.maximum(counts / len(y), 1e-12))[y]  # each face re-weighted so classes follow `prior`
    neutral, angry = FACE_LABELS.index("neutral"), FACE_LABELS.index("angry")
    return {"accuracy": m["accuracy"], **mix_scores(m["recall"], NATURAL_MIX),
            "neutral_as_angry": float((pred[y == neutral] == angry).mean()),
            "ece_under_prior": ece(p.max(1), pred == y, weight=weight), "recall": m["recall"]}


def fit(logits: np.ndarray, y: np.ndarray, train_prior: np.ndarray, temperature: float | None = None) -> dict:
    """T (unless given), then tau; the table of every tau's PublicTest figures is kept for the model card."""
    t = fit_temperature(logits, y) if temperature is None else temperature
    z = logits / t
    table = []
    for tau in TAUS:
        s = scores(z + prior_shift(tau, train_prior), y, target_prior(tau))
        table.append({"tau": float(tau), **s, "objective": 0.5 * (s["balanced_accuracy"] + s["mix_accuracy"])})
    best = max(table, key=lambda r: (round(r["objective"], 6), -r["tau"]))  # a tie goes to the smaller shift
    return {"temperature": t, "tau": best["tau"], "shift": prior_shift(best["tau"], train_prior).tolist(),
            "train_prior": train_prior.tolist(), "target_prior": target_prior(best["tau"]).tolist(),
            "uncalibrated": scores(logits, y, train_prior / train_prior.sum()), "table": table}


def calibration_path(model: str | Path) -> Path:
    """`runs/face/face_cal.keras` -> `runs/face/face_cal.calibration.json`."""
    return Path(model).with_suffix(".calibration.json")


def sidecar_block(model: str | Path) -> dict | None:
    """What the sidecar says about the calibration of a .keras model (None when it was not calibrated)."""
    path = calibration_path(model)
    if not path.is_file():
        return None
    cal = json.loads(path.read_text())
    return {"temperature_in_graph": cal["temperature"], "prior_shift": [round(v, 4) for v in cal["shift"]],
            "tau": cal["tau"], "train_prior": [round(v, 4) for v in cal["train_prior"]],
            "target_prior": [round(v, 4) for v in cal["target_prior"]],
            "fitted_on": "FER2013 PublicTest (convert/face/calibrate.py): T by log-likelihood, tau by the mean of balanced "
                         "and natural-mix accuracy; target prior = edge.labels.NATURAL_MIX ** tau, normalised"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="trained .keras model (train-face writes OUT/face.keras), or a converted "
                                                   "model with its sidecar (then only the prior shift is fitted, T = 1)")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz): PublicTest is fitted, Training gives the prior")
    p.add_argument("--out", required=True, help=".keras: the calibrated model to write (STEM.calibration.json beside it); "
                                                "for a converted model, the .calibration.json to write")
    p.add_argument("--ferplus", default=None, metavar="CSV",
                   help="the model was trained on the FER+ votes (train-face --ferplus): PublicTest is judged by their "
                        "majority and the training prior is the mean vote share")


def run(args: argparse.Namespace) -> int:
    import keras

    from . import task
    from ..quantize import float32_model
    from .models import calibrated

    if args.ferplus:
        train_prior = task.ferplus_prior(args.ferplus)
    else:
        train_y = task.labels(args.data, "Training")
        train_prior = np.bincount(train_y, minlength=len(FACE_LABELS)) / len(train_y)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if Path(args.model).suffix != ".keras":  # a converted file: its probabilities through edge/, no T to fold
        from edge.classify.model import Model

        m = Model(args.model)
        x, y = task.evaluation(args.data, "PublicTest", m.description.preprocess, ferplus=args.ferplus)
        probs = np.concatenate([m.predict(x[i:i + 256]) for i in range(0, len(x), 256)])
        cal = fit(np.log(np.clip(probs, 1e-7, 1.0)), y, train_prior, temperature=1.0)
        out = out.with_name(out.name.replace(".calibration.json", "") + ".keras")  # calibration_path(out) = --out
    else:
        spec = task.preprocess_of(args.model)
        x, y = task.evaluation(args.data, "PublicTest", spec, ferplus=args.ferplus)
        model = float32_model(keras.saving.load_model(args.model, compile=False))
        logits = np.log(np.clip(model.predict(x, batch_size=256, verbose=0), 1e-7, 1.0))
        cal = fit(logits, y, train_prior)
        calibrated(model, cal["temperature"], np.zeros(len(FACE_LABELS)))  # the prior shift stays out of the graph
        model.save(out)
        task.write_preprocess(out, spec)
    best = next(r for r in cal["table"] if r["tau"] == cal["tau"])
    cal["calibrated"] = {k: v for k, v in best.items() if k != "tau"}
    calibration_path(out).write_text(json.dumps(cal, indent=1) + "\n")
    u = cal["uncalibrated"]
    logger.info("T %.2f, tau %.2f: PublicTest balanced %.4f -> %.4f, natural-mix %.4f -> %.4f, neutral as angry "
                "%.3f -> %.3f, ECE %.3f -> %.3f; %s", cal["temperature"], cal["tau"], u["balanced_accuracy"],
                best["balanced_accuracy"], u["mix_accuracy"], best["mix_accuracy"], u["neutral_as_angry"],
                best["neutral_as_angry"], u["ece_under_prior"], best["ece_under_prior"], out)
    return 0
