"""`edge-convert train-audio`: the voice model on Emo-DB, RAVDESS and nEMO, evaluated speaker-independently,
then trained on all.

Protocol (voice_eval.py): 5 folds, each holding out whole speakers of every corpus at once (4 RAVDESS actors,
1-2 Emo-DB speakers, 1-2 nEMO actors); the rest of the training corpora trains. Each fold is quantized to
int8 TFLite and ONNX and run through edge/ on every held-out file: cold start (each file alone, as
`edge-emotion infer`), the device's running normalisation, and the level and noise conditions of
voice_data.CONDITIONS. Features are edge/audio/features.py's (and, with --front, the speech embedding's of
edge/audio/embedding.py), cached on disk.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from edge.audio.features import FEATURE_SET, VOICE_FEATURES, feature_names, utterance_windows
from edge.audio.gate import GateSettings, block_levels, decide, segment_floor
from edge.bench.datasets import Utterance
from edge.labels import VOICE_LABELS, VOICE_SOURCE_MAP

from .speech_corpora import DATASETS, load_emodb, load_nemo, load_ravdess
from .voice_data import FeatureCache
from .voice_model import NORM_CLIP, Prior, Recipe, balanced_weights, fit_model

logger = logging.getLogger(__name__)

# The model sees functionals over at most 2 s of speech (every Emo-DB file in our copy is 2.0 s, RAVDESS
# sentences hold 1.5-2.5 s of speech); windows hop by 0.5 s over longer speech, the utterance averages them.
WINDOW_S, HOP_S = 2.0, 0.5
TRIM_BELOW_PEAK_DB = 40.0  # edge frames 40 dB under the loudest are pauses or zero padding
LEVEL_DB = -26.0  # every utterance is scaled to this active speech level before the features (ITU-T P.56's nominal)
PRIOR_COUNT = 5.0  # running normalisation: the training prior counts as 5 utterances (issue 3's choice)
MAX_COUNT = 200.0  # ... and forgets beyond ~200, so a new speaker takes over
CALIBRATION_ROWS = 1000  # int8 calibration rows: well over quantize's minimum of 300, seconds to convert


def feature_params() -> dict[str, Any]:
    """Everything the cached features depend on."""
    return {"feature_set": FEATURE_SET, "spec": VOICE_FEATURES.to_dict(), "window_s": WINDOW_S, "hop_s": HOP_S,
            "trim_below_peak_db": TRIM_BELOW_PEAK_DB, "level_db": LEVEL_DB}


def extract(x: np.ndarray) -> np.ndarray:
    """16 kHz audio -> (windows, features), exactly as VoiceClassifier.window_features computes them."""
    return utterance_windows(x, WINDOW_S, HOP_S, TRIM_BELOW_PEAK_DB, level_db=LEVEL_DB)


def gate_reason(x: np.ndarray, settings: GateSettings = GateSettings()) -> str | None:
    """The device gate's verdict on a whole file (VoiceClassifier.classify's first step)."""
    levels = block_levels(x, 16000)
    return decide(levels, segment_floor(levels), settings).reason


def label_map(overrides: list[str]) -> tuple[dict[str, str | None], tuple[str, ...]]:
    """VOICE_SOURCE_MAP with `EMOTION=LABEL` overrides ('calm=neutral', 'surprise=surprise', 'calm=') and the
    model's labels: VOICE_LABELS plus any new target, in FUSED_LABELS order."""
    from edge.labels import FUSED_LABELS

    m = dict(VOICE_SOURCE_MAP)
    for o in overrides:
        src, _, dst = o.partition("=")
        if src not in m or (dst and dst not in FUSED_LABELS):
            raise SystemExit(f"edge-convert train-audio: --map {o}: give EMOTION=LABEL with EMOTION one of "
                             f"{', '.join(m)} and LABEL one of {', '.join(FUSED_LABELS)} (or empty: not trained)")
        m[src] = dst or None
    targets = set(VOICE_LABELS) | {v for v in m.values() if v}
    return m, tuple(lab for lab in FUSED_LABELS if lab in targets)


def load_corpora(emodb: Path, ravdess: Path, mapping: dict[str, str | None] = VOICE_SOURCE_MAP,
                 labels: tuple[str, ...] = VOICE_LABELS,
                 nemo: Path | None = None) -> tuple[list[Utterance], np.ndarray]:
    """Every utterance of the corpora and its model label index (-1: not trained on, e.g. RAVDESS calm)."""
    utts = load_emodb(emodb) + load_ravdess(ravdess) + (load_nemo(nemo) if nemo else [])
    y = np.array([labels.index(mapping[u.label]) if mapping.get(u.label) else -1 for u in utts])
    return utts, y


def training_rows(feats: list[list[np.ndarray]], y: np.ndarray, corpus: np.ndarray, idx: np.ndarray):
    """Rows (windows) of utterances `idx` in every variant, their labels and corpus names."""
    x = np.concatenate([f[i] for f in feats for i in idx])
    counts = [len(f[i]) for f in feats for i in idx]
    rep = np.concatenate([idx] * len(feats))
    return x, np.repeat(y[rep], counts), np.repeat(corpus[rep], counts)


def fit(feats: list[list[np.ndarray]], y: np.ndarray, corpus: np.ndarray, idx: np.ndarray, recipe: Recipe = Recipe(),
        n_classes: int = len(VOICE_LABELS), train_corpora: tuple[str, ...] | None = None):
    """Prior, Keras model and z-scored training rows of the recipe on utterances `idx` (labelled ones of
    `train_corpora`, default all), every variant."""
    idx = idx[y[idx] >= 0]
    if train_corpora is not None:
        idx = idx[np.isin(corpus[idx], train_corpora)]
    x, yy, cc = training_rows(feats, y, corpus, idx)
    prior = Prior.of(x)
    z = prior.apply(x)
    weights = balanced_weights(yy, cc, dict(recipe.corpus_shares))
    return prior, fit_model(z, yy, n_classes, weights, recipe, len(feats)), z


def calibration(rows: np.ndarray, n: int = CALIBRATION_ROWS) -> np.ndarray:
    """A fixed random subset of the training rows for int8 calibration (in their original order)."""
    pick = np.random.default_rng(0).choice(len(rows), min(n, len(rows)), replace=False)
    return rows[np.sort(pick)]


CORPUS_DATA = {
    "emodb": "Emo-DB (Burkhardt et al., Interspeech 2005), research use",
    "ravdess": "RAVDESS speech actors 01-20 (Livingstone & Russo, PLoS ONE 2018), CC BY-NC-SA 4.0",
    "nemo": "nEMO (Christop, LREC-COLING 2024), 7 actors, 16 kHz Opus copy, CC BY-NC-SA 4.0",
}


def description(prior: Prior, utts: list[Utterance], metrics: dict[str, Any] | None,
                labels: tuple[str, ...] = VOICE_LABELS,
                mapping: dict[str, str | None] = VOICE_SOURCE_MAP, recipe: Recipe | None = None,
                front: str = "functionals") -> dict[str, Any]:
    """The voice model's description (quantize adds format, precision and tensors)."""
    corpora = sorted({u.corpus for u in utts})
    embedding = None
    if front in ("embedding", "both"):
        from edge.audio.embedding import EMBED_DIM, EMBED_SET, EmbeddingSpec

        embedding = {"set": EMBED_SET, "dim": 2 * EMBED_DIM, **EmbeddingSpec().to_dict()}
    n_features = (len(feature_names()) if front != "embedding" else 0) + (embedding["dim"] if embedding else 0)
    return {
        "name": "voice", "task": "voice", "version": "3" if (embedding or "nemo" in corpora) else "2",
        "labels": list(labels),
        "preprocess": {"feature_set": FEATURE_SET if front != "embedding" else None, "n_features": n_features,
                       "embedding": embedding,
                       "features": VOICE_FEATURES.to_dict(), "window_s": WINDOW_S, "hop_s": HOP_S,
                       "trim_below_peak_db": TRIM_BELOW_PEAK_DB, "level_db": LEVEL_DB,
                       "norm": {"mean": prior.mean.tolist(), "std": prior.std.tolist(), "prior_count": PRIOR_COUNT,
                                "max_count": MAX_COUNT, "clip": NORM_CLIP,
                                "method": "z-scores by the training prior (cold start); optionally the running "
                                          "mean of the utterances heard ([audio] adapt)"}},
        "training": {"data": "; ".join(CORPUS_DATA[c] for c in corpora),
                     "corpora": corpora, "utterances": len(utts),
                     "speakers": sorted({u.speaker for u in utts}), "label_map": mapping,
                     "classifier": asdict(recipe) if recipe else None},
        "metrics": metrics or {},
        "licence": "trained on " + ", ".join({"emodb": "Emo-DB (research use only)", "ravdess": "RAVDESS (CC BY-NC-SA "
                   "4.0)", "nemo": "nEMO (CC BY-NC-SA 4.0)"}[c] for c in corpora) + ": non-commercial research use",
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--emodb", type=Path, default=DATASETS / "emodb", help="Emo-DB folder (holding wav/)")
    p.add_argument("--ravdess", type=Path, default=DATASETS / "ravdess", help="RAVDESS folder (Actor_XX/*.flac)")
    p.add_argument("--nemo", type=Path, default=DATASETS / "nemo", help="nEMO folder (data.tsv, <speaker>/*.ogg)")
    p.add_argument("--train-corpora", default="emodb,ravdess,nemo",
                   help="comma-separated corpora that train (all three are evaluated); emodb,ravdess: v2's data")
    p.add_argument("--front", choices=("functionals", "embedding", "both"), default="functionals",
                   help="model input per window: the 1,097 functionals, the speech embedding's mean and std (192), "
                        "or both")
    p.add_argument("--per-corpus-folds", dest="per_corpus", action="store_true",
                   help="v2's folds: RAVDESS 5 x 4 actors, one fold per Emo-DB and per nEMO speaker (20 trainings)")
    p.add_argument("--conditions", default="all", help="test conditions for the int8 figures: 'all' "
                   "(voice_data.CONDITIONS) or a comma-separated subset, e.g. clean")
    p.add_argument("--out", type=Path, default=Path("runs/voice"), help="folder for artifacts, fold models, report")
    p.add_argument("--cache", type=Path, default=Path("runs/cache"), help="feature cache folder ('' disables)")
    p.add_argument("--augment", type=int, default=4, help="random augmented copies of each training file "
                   "(speed 0.9-1.1, clipping, noise; voice_data.augment)")
    p.add_argument("--hidden", type=int, default=Recipe.hidden, help="hidden ReLU units of the MLP; 0: the v2.0 "
                   "softmax layer fitted by L-BFGS")
    p.add_argument("--epochs", type=int, default=Recipe.epochs, help="MLP training epochs (Adam)")
    p.add_argument("--members", type=int, default=Recipe.members, help="MLPs (seeds --seed, --seed+1, ...) whose "
                   "probabilities the model averages")
    p.add_argument("--l2", type=float, default=Recipe.l2, help="--hidden 0 only: L2 on the softmax weights per clean "
                   "training row")
    p.add_argument("--seed", type=int, default=0, help="seed of the augmentations, of the MLP and of the test noise")
    p.add_argument("--corpus-weight", action="append", default=[], metavar="CORPUS=W",
                   help="relative weight of a training corpus (default 1 each: every corpus weighs the same), "
                        "e.g. ravdess=2")
    p.add_argument("--mlp-seed", type=int, default=None, help="seed of the MLPs alone (default --seed): a second "
                   "seed over the same cached augmented copies")
    p.add_argument("--orders", type=int, default=5, help="random utterance orders per held-out speaker for the "
                   "running-normalisation figure")
    p.add_argument("--map", action="append", default=[], metavar="EMOTION=LABEL",
                   help="train corpus emotion EMOTION as LABEL ('calm=neutral', 'surprise=surprise') or not at all "
                        "('calm='); default: edge/labels.py VOICE_SOURCE_MAP")
    p.add_argument("--float-only", action="store_true", help="cross-validate the float model on clean audio only "
                   "(no quantization, conditions or running normalisation): design comparisons")
    p.add_argument("--no-eval", dest="evaluate", action="store_false", help="skip the cross-validation")
    p.add_argument("--no-final", dest="final", action="store_false", help="skip the model on all data")


class FrontCache:
    """The model input of `front` per utterance and variant: cached functionals, embeddings, or both side by side."""

    def __init__(self, folder: Path | None, front: str) -> None:
        self.parts = []
        if front in ("functionals", "both"):
            self.parts.append(FeatureCache(folder, extract, feature_params()))
        if front in ("embedding", "both"):
            from .voice_embed import embedding_params, extract_embedding

            self.parts.append(FeatureCache(folder, extract_embedding, embedding_params()))

    def features(self, utts: list[Utterance], variant: str, seed: int = 0) -> list[np.ndarray]:
        got = [c.features(utts, variant, seed) for c in self.parts]
        return [np.concatenate(f, axis=1) for f in zip(*got)] if len(got) > 1 else got[0]

    def gate(self, *a, **k):
        return self.parts[0].gate(*a, **k)


def front_cache(args: argparse.Namespace) -> FrontCache:
    return FrontCache(Path(args.cache) if str(args.cache) else None, args.front)


def recipe(args: argparse.Namespace) -> Recipe:
    """The classifier recipe the command line asks for."""
    seed = args.seed if getattr(args, "mlp_seed", None) is None else args.mlp_seed
    shares = tuple((c, float(w)) for c, _, w in (o.partition("=") for o in getattr(args, "corpus_weight", [])))
    return Recipe(hidden=args.hidden, l2=args.l2, epochs=args.epochs, members=args.members, seed=seed,
                  corpus_shares=shares)


def run(args: argparse.Namespace) -> int:
    from .quantize import export_all
    from .voice_eval import cross_validate

    args.mapping, args.labels = label_map(args.map)
    args.recipe = recipe(args)
    args.train_corpora = tuple(c for c in args.train_corpora.split(",") if c)
    utts, y = load_corpora(args.emodb, args.ravdess, args.mapping, args.labels, args.nemo)
    corpus = np.array([u.corpus for u in utts])
    cache = front_cache(args)
    variants = ["clean"] + [f"aug{k}" for k in range(args.augment)]
    feats = [cache.features(utts, v, args.seed) for v in variants]
    args.out.mkdir(parents=True, exist_ok=True)
    summary = None
    if args.evaluate:
        result = cross_validate(utts, y, feats, cache, args)
        result["command"] = "edge-convert " + " ".join(sys.argv[1:])
        (args.out / "cv.json").write_text(json.dumps(result, indent=1) + "\n")
        summary = result["summary"]
    if args.final:
        prior, model, rows = fit(feats, y, corpus, np.arange(len(utts)), args.recipe, len(args.labels),
                                 args.train_corpora)
        model.save(args.out / "voice.keras")
        trained = [u for u in utts if u.corpus in args.train_corpora]
        paths = export_all(model, calibration(rows), args.out, "voice",
                           description(prior, trained, summary, args.labels, args.mapping, args.recipe, args.front))
        logger.info("final model: %s", ", ".join(str(p) for p in paths.values()))
    return 0
