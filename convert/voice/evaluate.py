"""Speaker-independent evaluation of the voice recipe: every fold quantized and run through edge/ on held-out files.

A file the gate turns away (silence, too quiet, too short) has no answer and counts as wrong; the
share of such files and their reasons are reported beside every UAR.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict
from typing import Any

import numpy as np

from edge.audio.gate import GateSettings
from edge.audio.normalise import RunningNorm
from edge.bench.datasets import Utterance
from edge.classify.model import Model

from ..quantize import export_all
from .data import CONDITIONS, FeatureCache
from .features import gate_reason
from .model import calibration, description, fit, predict

logger = logging.getLogger(__name__)
RAVDESS_SIX = ("neutral", "happy", "sad", "angry", "fear", "disgust")  # the classes RAVDESS shares with Emo-DB
EMODB_SEVEN = ("angry", "bored", "disgust", "fear", "happy", "sad", "neutral")
NEMO_FIVE = ("angry", "fear", "happy", "sad", "neutral")  # nEMO's classes the voice has (surprised: not a voice label)
CORPUS_CLASSES = {"ravdess": RAVDESS_SIX, "emodb": EMODB_SEVEN, "nemo": NEMO_FIVE}
N_FOLDS = 5
NO_ANSWER = -1  # a file the gate turned away
MODELS = ("float", "tflite-int8", "onnx-int8")


def folds(utts: list[Utterance], per_corpus: bool = False) -> list[tuple[str, np.ndarray]]:
    """5 folds, each holding out whole speakers of every corpus: RAVDESS actors k, k+5, k+10, k+15 (two male, two
    female), and the k-th, (k+5)-th ... speaker of Emo-DB (8: 2,2,2,1,1) and of nEMO (7: 2,2,1,1,1) in sorted order.

    One training per fold tests all three corpora (5 trainings instead of 5 + 8 + 7: what 2 shared cores allow).
    `per_corpus`: v2's protocol, RAVDESS's 5 folds and one fold per Emo-DB speaker (every other file trains).
    """
    spk = np.array([u.speaker for u in utts])
    by_corpus = {c: sorted({u.speaker for u in utts if u.corpus == c}) for c in ("ravdess", "emodb", "nemo")}
    if per_corpus:
        actors = by_corpus["ravdess"]
        out = [(f"ravdess-{'-'.join(a[1:] for a in actors[k::5])}", np.flatnonzero(np.isin(spk, actors[k::5])))
               for k in range(5)]
        return out + [(f"{c}-{s}", np.flatnonzero(spk == s)) for c in ("emodb", "nemo") for s in by_corpus[c]]
    out = []
    for k in range(N_FOLDS):
        held = [s for c in ("ravdess", "emodb", "nemo") for s in by_corpus[c][k::N_FOLDS]]
        out.append((f"fold{k}-" + "-".join(held), np.flatnonzero(np.isin(spk, held))))
    return out


def scores(truth: list[str], pred: np.ndarray, classes: tuple[str, ...], labels: tuple[str, ...]) -> dict[str, Any]:
    """UAR over `classes` (no answer counts as wrong), WA, per-class recall, confusion over `labels` + no answer."""
    t = np.array([classes.index(s) for s in truth])
    cm = np.zeros((len(classes), len(labels) + 1), np.int64)
    np.add.at(cm, (t, np.where(pred == NO_ANSWER, len(labels), pred)), 1)
    recall = {c: float(cm[i, labels.index(c)] / max(1, cm[i].sum())) for i, c in enumerate(classes)}
    hits = sum(cm[i, labels.index(c)] for i, c in enumerate(classes))
    # How much more often an answer is neutral than the truth is (issue 25: at most 2).
    neutral = (float(cm[:, labels.index("neutral")].sum() / max(1, cm[classes.index("neutral")].sum()))
               if "neutral" in classes and "neutral" in labels else None)
    return {"n": int(cm.sum()), "uar": float(np.mean(list(recall.values()))), "wa": float(hits / max(1, cm.sum())),
            "recall": recall, "labels": list(labels) + ["no answer"], "confusion": cm.tolist(),
            "no_answer": int(cm[:, -1].sum()), "neutral_ratio": neutral}


def corpus_scores(utts: list[Utterance], pred: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    """RAVDESS six-class, Emo-DB seven-class and nEMO five-class scores of one prediction per file (NO_ANSWER: none)."""
    out = {}
    for corpus, classes in CORPUS_CLASSES.items():
        idx = [i for i, u in enumerate(utts) if u.corpus == corpus and u.label in classes]
        if idx:
            out[corpus] = scores([utts[i].label for i in idx], pred[idx], classes, labels)
    return out


class FoldModels:
    """One fold's float weights and (unless float only) its int8 TFLite and ONNX files, run as the device runs them."""

    def __init__(self, prior, model, rows: np.ndarray, utts_train: list[Utterance], folder, args) -> None:
        self.model = model
        desc = description(prior, utts_train, None, args.labels, args.mapping,
                           front=getattr(args, "front", "functionals"))
        self.desc_norm = desc["preprocess"]["norm"]
        self.models = {}
        if not args.float_only:
            paths = export_all(model, calibration(rows), folder, "voice", desc,
                               targets=("tflite-int8", "onnx-float32", "onnx-int8"))
            self.models = {"tflite-int8": Model(paths["tflite-int8"]),
                           "onnx-int8": Model(paths["onnx-int8"], backend="onnxruntime")}

    def norm(self) -> RunningNorm:
        return RunningNorm.from_description(self.desc_norm)

    def predict(self, name: str, z: np.ndarray) -> np.ndarray:
        """(windows, d) normalised features of one file -> its probabilities (mean over windows)."""
        if name == "float":
            return predict(self.model, z).mean(axis=0)
        return self.models[name].predict(z).mean(axis=0)


def running_predictions(fm: FoldModels, feats: list[np.ndarray], speakers: np.ndarray, orders: int,
                        seed: int) -> list[np.ndarray]:
    """int8 TFLite argmax per file when each held-out speaker's files arrive in a random order through RunningNorm."""
    out = []
    for o in range(orders):
        pred = np.zeros(len(feats), np.int64)
        rng = np.random.default_rng(seed * 1000 + o)
        for s in np.unique(speakers):
            norm = fm.norm()  # a new voice: the device starts from the prior
            for i in rng.permutation(np.flatnonzero(speakers == s)):
                norm.update(feats[i].mean(axis=0))
                pred[i] = int(np.argmax(fm.predict("tflite-int8", norm.apply(feats[i]))))
        out.append(pred)
    return out


def cross_validate(utts: list[Utterance], y: np.ndarray, feats: list[list[np.ndarray]], cache: FeatureCache,
                   args: argparse.Namespace) -> dict[str, Any]:
    labels = args.labels
    corpus = np.array([u.corpus for u in utts])
    speakers = np.array([u.speaker for u in utts])
    gate_params = asdict(GateSettings())
    wanted = getattr(args, "conditions", "all")
    conditions = ["clean"] if args.float_only else [c for c in CONDITIONS if wanted == "all" or c in wanted.split(",")]
    train_corpora = getattr(args, "train_corpora", None)
    models = ("float",) if args.float_only else MODELS
    test = {c: (feats[0] if c == "clean" else cache.features(utts, c, args.seed),
                cache.gate(utts, c, args.seed, gate_reason, gate_params)) for c in conditions}
    pred = {(c, m): np.full(len(utts), NO_ANSWER) for c in conditions for m in models}
    orders = 0 if args.float_only else args.orders
    running = [np.full(len(utts), NO_ANSWER) for _ in range(orders)]
    per_fold = []
    for name, te in folds(utts, getattr(args, "per_corpus", False)):
        tr = np.setdiff1d(np.arange(len(utts)), te)
        prior, model, rows = fit(feats, y, corpus, tr, args.recipe, len(labels), train_corpora, speakers)
        trained = [utts[i] for i in tr if train_corpora is None or utts[i].corpus in train_corpora]
        fm = FoldModels(prior, model, rows, trained, args.out / "folds" / name, args)
        norm = fm.norm()  # cold start: never updated, every file judged against the prior alone
        for c, (f, reasons) in test.items():
            for i in te:
                if reasons[i] is None:
                    z = norm.apply(f[i])
                    for m in models:
                        pred[c, m][i] = int(np.argmax(fm.predict(m, z)))
        heard = np.array([i for i in te if test["clean"][1][i] is None], np.int64)
        for o, p in enumerate(running_predictions(fm, [feats[0][i] for i in heard], speakers[heard], orders,
                                                  args.seed)):
            running[o][heard] = p
        held = [utts[i] for i in te]
        row = {"fold": name, "files": len(te), **{m: corpus_scores(held, pred["clean", m][te], labels) for m in models}}
        per_fold.append(row)
        logger.info("%s: %s", name, {m: {k: round(v["uar"], 4) for k, v in row[m].items()} for m in models})
    result: dict[str, Any] = {"labels": list(labels), "label_map": args.mapping, "folds": per_fold,
                              "front": getattr(args, "front", "functionals"), "train_corpora": train_corpora,
                              "protocol": "per-corpus" if getattr(args, "per_corpus", False) else "joint-5",
                              "seed": args.seed, "augment": args.augment, "recipe": asdict(args.recipe),
                              "orders": orders,
                              "gate": gate_params, "conditions": {}}
    for c in conditions:
        reasons = test[c][1]
        result["conditions"][c] = {
            "files": len(utts), "no_answer": {r: int(sum(1 for x in reasons if x == r))
                                              for r in ("silence", "too quiet", "too short")},
            **{m: corpus_scores(utts, pred[c, m], labels) for m in models}}
    best = "float" if args.float_only else "tflite-int8"
    result["other_labels"] = other_labels(utts, pred["clean", best], labels)
    clean = result["conditions"]["clean"][best]
    result["summary"] = {f"{k}_uar_cold_{best}": clean[k]["uar"] for k in clean}
    if orders:
        runs = [corpus_scores(utts, p, labels) for p in running]
        result["running"] = {k: {"uar": float(np.mean([r[k]["uar"] for r in runs])),
                                 "uar_min": float(min(r[k]["uar"] for r in runs)),
                                 "uar_max": float(max(r[k]["uar"] for r in runs)),
                                 "recall": {c: float(np.mean([r[k]["recall"][c] for r in runs]))
                                            for c in runs[0][k]["recall"]}} for k in runs[0]}
        result["summary"].update({f"{k}_uar_running_int8": result["running"][k]["uar"] for k in result["running"]})
    return result


def other_labels(utts: list[Utterance], pred: np.ndarray, labels: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """What the model answers on the files outside each corpus's scored classes (RAVDESS calm and surprised, nEMO
    surprised), keyed 'calm', 'surprise' (RAVDESS) and 'nemo surprise'."""
    out = {}
    names = list(labels) + ["no answer"]
    for corpus, classes in CORPUS_CLASSES.items():
        for label in sorted({u.label for u in utts if u.corpus == corpus} - set(classes)):
            idx = [i for i, u in enumerate(utts) if u.label == label and u.corpus == corpus]
            p = np.where(pred[idx] == NO_ANSWER, len(labels), pred[idx])
            out[label if corpus == "ravdess" else f"{corpus} {label}"] = {names[k]: int((p == k).sum())
                                                                          for k in range(len(names))}
    return out
