"""`edge-convert train-voice`: the voice model on Emo-DB, RAVDESS and nEMO, evaluated speaker-independently,
then trained on all.

Protocol (evaluate.py): 5 folds, each holding out whole speakers of every corpus at once (4 RAVDESS actors,
1-2 Emo-DB speakers, 1-2 nEMO actors); the rest of the training corpora trains. Each fold is quantized to
int8 TFLite and ONNX and run through edge/ on every held-out file: cold start (each file alone, as
`edge-emotion infer`), the device's running normalisation, and the level and noise conditions of
data.CONDITIONS. Features are edge/audio/features.py's (and, with --front, the speech embedding's of
edge/audio/embedding.py), cached on disk.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from edge.bench.datasets import Utterance
from edge.labels import VOICE_LABELS, VOICE_SOURCE_MAP

from .. import DATASETS
from ..quantize import export_all
from .corpora import load_corpora
from .data import FeatureCache
from .evaluate import cross_validate
from .features import extract, feature_params
from .model import Recipe, calibration, description, fit

logger = logging.getLogger(__name__)


def label_map(overrides: list[str]) -> tuple[dict[str, str | None], tuple[str, ...]]:
    """VOICE_SOURCE_MAP with `EMOTION=LABEL` overrides ('calm=neutral', 'surprise=surprise', 'calm=') and the
    model's labels: VOICE_LABELS plus any new target, in FUSED_LABELS order."""
    from edge.labels import FUSED_LABELS

    m = dict(VOICE_SOURCE_MAP)
    for o in overrides:
        src, _, dst = o.partition("=")
        if src not in m or (dst and dst not in FUSED_LABELS):
            raise SystemExit(f"edge-convert train-voice: --map {o}: give EMOTION=LABEL with EMOTION one of "
                             f"{', '.join(m)} and LABEL one of {', '.join(FUSED_LABELS)} (or empty: not trained)")
        m[src] = dst or None
    targets = set(VOICE_LABELS) | {v for v in m.values() if v}
    return m, tuple(lab for lab in FUSED_LABELS if lab in targets)


# v3's recipe (issue 25): with nEMO a third of the weight, RAVDESS lost 2.6-3 points; twice RAVDESS's weight gave
# them back (benchmarks/reports/voice_v3_cv/, VOICE_MODEL_CARD.md).
DEFAULT_CORPUS_WEIGHTS = ("ravdess=2",)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--emodb", type=Path, default=DATASETS / "emodb", help="Emo-DB folder (holding wav/)")
    p.add_argument("--ravdess", type=Path, default=DATASETS / "ravdess", help="RAVDESS folder (Actor_XX/*.flac)")
    p.add_argument("--nemo", type=Path, default=DATASETS / "nemo", help="nEMO folder (data.tsv, <speaker>/*.ogg)")
    p.add_argument("--train-corpora", default="emodb,ravdess,nemo",
                   help="comma-separated corpora that train (all three are evaluated); emodb,ravdess: v2's data")
    p.add_argument("--front", choices=("functionals", "embedding", "both"), default="both",
                   help="model input per window: the 1,097 functionals, the speech embedding's mean and std (192), "
                        "or both (v3, the default; v2: functionals)")
    p.add_argument("--per-corpus-folds", dest="per_corpus", action="store_true",
                   help="v2's folds: RAVDESS 5 x 4 actors, one fold per Emo-DB and per nEMO speaker (20 trainings)")
    p.add_argument("--conditions", default="all", help="test conditions for the int8 figures: 'all' "
                   "(convert/voice/data.py CONDITIONS) or a comma-separated subset, e.g. clean")
    p.add_argument("--out", type=Path, default=Path("runs/voice"), help="folder for artifacts, fold models, report")
    p.add_argument("--cache", type=Path, default=Path("runs/cache"), help="feature cache folder ('' disables)")
    p.add_argument("--augment", type=int, default=4, help="random augmented copies of each training file "
                   "(speed 0.9-1.1, clipping, noise; convert/voice/data.py augment)")
    p.add_argument("--hidden", type=int, default=Recipe.hidden, help="hidden ReLU units of the MLP; 0: the v2.0 "
                   "softmax layer fitted by L-BFGS")
    p.add_argument("--epochs", type=int, default=Recipe.epochs, help="MLP training epochs (Adam)")
    p.add_argument("--members", type=int, default=Recipe.members, help="MLPs (seeds --seed, --seed+1, ...) whose "
                   "probabilities the model averages")
    p.add_argument("--l2", type=float, default=Recipe.l2, help="--hidden 0 only: L2 on the softmax weights per clean "
                   "training row")
    p.add_argument("--seed", type=int, default=0, help="seed of the augmentations, of the MLP and of the test noise")
    p.add_argument("--corpus-weight", action="append", default=None, metavar="CORPUS=W",
                   help="relative weight of a training corpus, others 1 (default ravdess=2, v3's: RAVDESS gets back "
                        "half of the weight; ravdess=1: every corpus weighs the same)")
    p.add_argument("--mlp-seed", type=int, default=None, help="seed of the MLPs alone (default --seed): a second "
                   "seed over the same cached augmented copies")
    p.add_argument("--orders", type=int, default=5, help="random utterance orders per held-out speaker for the "
                   "running-normalisation figure")
    p.add_argument("--map", action="append", default=[], metavar="EMOTION=LABEL",
                   help="train corpus emotion EMOTION as LABEL ('calm=neutral', 'surprise=surprise') or not at all "
                        "('calm='); default: edge/labels.py VOICE_SOURCE_MAP")
    p.add_argument("--adapt-share", type=float, default=0.0,
                   help="share of training file copies z-scored as `audio.adapt` would after 1..--adapt-max files "
                        "of their speaker (the rest by the prior, as at cold start); 0: v2's training")
    p.add_argument("--adapt-max", type=int, default=30, help="most files of a speaker heard in --adapt-share")
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
            from .embed import embedding_params, extract_embedding

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
    weights = getattr(args, "corpus_weight", None)
    weights = DEFAULT_CORPUS_WEIGHTS if weights is None else weights
    shares = tuple((c, float(w)) for c, _, w in (o.partition("=") for o in weights))
    return Recipe(hidden=args.hidden, l2=args.l2, epochs=args.epochs, members=args.members, seed=seed,
                  corpus_shares=shares, adapt_share=getattr(args, "adapt_share", 0.0),
                  adapt_max=getattr(args, "adapt_max", 30))


def run(args: argparse.Namespace) -> int:
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
                                 args.train_corpora, np.array([u.speaker for u in utts]))
        model.save(args.out / "voice.keras")
        trained = [u for u in utts if u.corpus in args.train_corpora]
        paths = export_all(model, calibration(rows), args.out, "voice",
                           description(prior, trained, summary, args.labels, args.mapping, args.recipe, args.front))
        logger.info("final model: %s", ", ".join(str(p) for p in paths.values()))
    return 0
