"""The voice classifier over z-scored functionals: a one-hidden-layer MLP (v2.1) or a softmax layer (v2.0).

The MLP (functionals -> `hidden` ReLU units -> softmax, dropout on the input and the hidden layer) is
trained by Adam in Keras with a fixed seed. The softmax layer is fitted by full-batch L-BFGS on the
exact, L2-regularised multinomial likelihood (deterministic, seconds on a CPU). Either way the result is a
Keras model, so convert/quantize.py makes the int8 TFLite and ONNX files from it like any other model.
`fit` trains it on a set of utterances, `calibration` picks its int8 calibration rows and `description` writes
what its sidecar says; the training command and the cross-validation both use them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edge.audio.features import FEATURE_SET, VOICE_FEATURES, feature_names
from edge.audio.normalise import RunningNorm
from edge.bench.datasets import Utterance
from edge.labels import VOICE_LABELS, VOICE_SOURCE_MAP

from . import features

logger = logging.getLogger(__name__)
NORM_CLIP = 5.0  # z-scores beyond +-5 are outliers; clipping keeps the int8 input step fine (10/255)
PRIOR_COUNT = 5.0  # running normalisation: the training prior counts as 5 utterances (issue 3's choice)
MAX_COUNT = 200.0  # ... and forgets beyond ~200, so a new speaker takes over
CALIBRATION_ROWS = 1000  # int8 calibration rows: well over quantize's minimum of 300, seconds to convert


@dataclass(frozen=True)
class Prior:
    """Training statistics every utterance is z-scored with at cold start (the device's RunningNorm prior)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray) -> "Prior":
        return cls(rows.mean(axis=0), np.maximum(rows.std(axis=0), 1e-6))

    def apply(self, x: np.ndarray) -> np.ndarray:
        return np.clip((x - self.mean) / self.std, -NORM_CLIP, NORM_CLIP).astype(np.float32)


def balanced_weights(y: np.ndarray, corpus: np.ndarray, shares: dict[str, float] | None = None) -> np.ndarray:
    """Row weights: each corpus an equal part of the total (or `shares`, relative), each class an equal share of
    its corpus; mean weight 1.

    Emo-DB (428 files) and RAVDESS (840 here) then pull equally, and RAVDESS's 4 neutral files per actor
    count as much as its 8 angry ones.
    """
    w = np.zeros(len(y))
    corpora = np.unique(corpus)
    shares = shares or {}
    for c in corpora:
        in_c = corpus == c
        classes = np.unique(y[in_c])
        for k in classes:
            m = in_c & (y == k)
            w[m] = shares.get(str(c), 1.0) / (m.sum() * len(classes) * len(corpora))
    return w * len(w) / w.sum()


def fit_softmax(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float, weights: np.ndarray,
                max_iter: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Minimise sum_i w_i * cross-entropy_i + l2/2 |W|^2 (bias not penalised); returns W (d, k) and b (k)."""
    from scipy.optimize import minimize

    x = np.asarray(x, np.float64)
    n, d = x.shape
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), y] = 1.0
    w = np.asarray(weights, np.float64)[:, None]

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        W, b = p[:d * n_classes].reshape(d, n_classes), p[d * n_classes:]
        z = x @ W + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        g = (np.exp(logp) - onehot) * w
        value = -(w * onehot * logp).sum() + 0.5 * l2 * (W ** 2).sum()
        return value, np.concatenate([(x.T @ g + l2 * W).ravel(), g.sum(axis=0)])

    r = minimize(loss, np.zeros(d * n_classes + n_classes), jac=True, method="L-BFGS-B",
                 options={"maxiter": max_iter})
    return r.x[:d * n_classes].reshape(d, n_classes).astype(np.float32), r.x[d * n_classes:].astype(np.float32)


@dataclass(frozen=True)
class Recipe:
    """How the classifier is trained: `hidden` 0 is the v2.0 softmax layer (L-BFGS, `l2`), else an MLP (Adam)."""

    hidden: int = 256
    l2: float = 30.0  # softmax only: L2 per clean training row (multiplied by the variants per file)
    epochs: int = 30
    batch: int = 128
    lr: float = 1e-3
    dropout_in: float = 0.2  # on the z-scores: no single functional can carry a speaker's habit
    dropout: float = 0.5
    weight_decay: float = 1e-4  # Keras L2 on both kernels
    members: int = 3  # MLPs trained with seeds seed, seed+1, ...; the model averages their probabilities
    seed: int = 0
    corpus_shares: tuple[tuple[str, float], ...] = ()  # relative weight of each corpus (default: equal)
    # Share of training file copies z-scored as `audio.adapt` would after 1..adapt_max files of their speaker
    # (RunningNorm: the prior plus those files), the rest by the prior alone (cold start); 0: v2's training.
    adapt_share: float = 0.0
    adapt_max: int = 30


def fit_mlp(x: np.ndarray, y: np.ndarray, n_classes: int, weights: np.ndarray, recipe: Recipe) -> Any:
    """A Keras model of `recipe.members` MLPs trained on z-scores `x` (rows) with labels `y` and row weights.

    Each member: dropout, `hidden` ReLU units, dropout, softmax; member k is trained with seed `seed + k`. Their
    probabilities are averaged inside the graph (one file, one call on the device).
    """
    import keras

    members = []
    for k in range(recipe.members):
        keras.utils.set_random_seed(recipe.seed + k)
        reg = keras.regularizers.l2(recipe.weight_decay)
        member = keras.Sequential([
            keras.Input((x.shape[1],)),
            keras.layers.Dropout(recipe.dropout_in),
            keras.layers.Dense(recipe.hidden, activation="relu", kernel_regularizer=reg),
            keras.layers.Dropout(recipe.dropout),
            keras.layers.Dense(n_classes, activation="softmax", kernel_regularizer=reg),
        ], name=f"member{k}")
        member.compile(keras.optimizers.Adam(recipe.lr), "sparse_categorical_crossentropy")
        member.fit(np.asarray(x, np.float32), y, sample_weight=np.asarray(weights, np.float32),
                   batch_size=recipe.batch, epochs=recipe.epochs, shuffle=True, verbose=0)
        logger.info("MLP member %d/%d trained on %d rows", k + 1, recipe.members, len(x))
        members.append(member)
    inp = keras.Input((x.shape[1],), name="features")
    outs = [m(inp) for m in members]
    out = keras.layers.Average(name="probs")(outs) if len(outs) > 1 else outs[0]
    return keras.Model(inp, out, name="voice")


def fit_model(x: np.ndarray, y: np.ndarray, n_classes: int, weights: np.ndarray, recipe: Recipe,
              variants: int = 1) -> Any:
    """The recipe's classifier on z-scores `x` as a Keras model (`variants`: copies of each file, scales the L2)."""
    if recipe.hidden:
        return fit_mlp(x, y, n_classes, weights, recipe)
    return to_keras(*fit_softmax(x, y, n_classes, recipe.l2 * variants, weights))


def _dense_stack(model: Any) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """(kernel, bias, relu) of each Dense layer in order (Dropout and Input carry no computation at inference)."""
    return [(np.asarray(layer.kernel.numpy()), np.asarray(layer.bias.numpy()), layer.activation.__name__ == "relu")
            for layer in model.layers if hasattr(layer, "kernel")]


def predict(model: Any, z: np.ndarray) -> np.ndarray:
    """Float probabilities of a fit_model() model on (rows, d) z-scores, in numpy (no TF graph tracing per call)."""
    members = [m for m in model.layers if hasattr(m, "layers")] or [model]
    total = 0.0
    for member in members:
        out = np.asarray(z, np.float32)
        for w, b, relu in _dense_stack(member):
            out = out @ w + b
            if relu:
                out = np.maximum(out, 0.0)
        out = out - out.max(axis=1, keepdims=True)
        e = np.exp(out)
        total = total + e / e.sum(axis=1, keepdims=True)
    return total / len(members)


def to_keras(W: np.ndarray, b: np.ndarray) -> Any:
    """A Keras model computing softmax(z W + b) on (batch, d) z-scores, named as convert/quantize expects."""
    import keras

    d, k = W.shape
    model = keras.Sequential([keras.Input((d,), name="features"), keras.layers.Dense(k, activation="softmax")],
                             name="voice")
    model.layers[-1].set_weights([W, b])
    return model


def training_rows(feats: list[list[np.ndarray]], y: np.ndarray, corpus: np.ndarray, idx: np.ndarray):
    """Rows (windows) of utterances `idx` in every variant, their labels and corpus names."""
    x = np.concatenate([f[i] for f in feats for i in idx])
    counts = [len(f[i]) for f in feats for i in idx]
    rep = np.concatenate([idx] * len(feats))
    return x, np.repeat(y[rep], counts), np.repeat(corpus[rep], counts)


def adapted_z(feats: list[list[np.ndarray]], idx: np.ndarray, speakers: np.ndarray, prior: Prior, share: float,
              k_max: int, seed: int) -> np.ndarray:
    """z-scores of training_rows(feats, ..., idx), row for row: each file copy, with probability `share`, as the
    device's running normalisation (`audio.adapt`) would give it after k = 1..k_max files of its speaker (the
    file itself last, as the device updates before it normalises; the others clean, drawn from the speaker's
    training files), else by the prior alone (cold start). The model then meets both at run time."""
    rng = np.random.default_rng(seed + 7919)  # apart from the MLP's and the augmentations' streams
    means = {int(i): feats[0][i].mean(axis=0) for i in idx}
    mates = {s: idx[speakers[idx] == s] for s in np.unique(speakers[idx])}
    out = []
    for f in feats:
        for i in idx:
            x = f[i]
            if rng.random() >= share:
                out.append(prior.apply(x))
                continue
            others = mates[speakers[i]][mates[speakers[i]] != i]
            k = int(rng.integers(1, k_max + 1))
            norm = RunningNorm(prior.mean, prior.std, PRIOR_COUNT, MAX_COUNT, NORM_CLIP)
            for j in rng.choice(others, size=min(k - 1, len(others)), replace=False):
                norm.update(means[int(j)])
            norm.update(x.mean(axis=0))
            out.append(norm.apply(x))
    return np.concatenate(out)


def fit(feats: list[list[np.ndarray]], y: np.ndarray, corpus: np.ndarray, idx: np.ndarray, recipe: Recipe = Recipe(),
        n_classes: int = len(VOICE_LABELS), train_corpora: tuple[str, ...] | None = None,
        speakers: np.ndarray | None = None):
    """Prior, Keras model and z-scored training rows of the recipe on utterances `idx` (labelled ones of
    `train_corpora`, default all), every variant. `recipe.adapt_share` needs `speakers` (one per utterance)."""
    idx = idx[y[idx] >= 0]
    if train_corpora is not None:
        idx = idx[np.isin(corpus[idx], train_corpora)]
    x, yy, cc = training_rows(feats, y, corpus, idx)
    prior = Prior.of(x)
    if recipe.adapt_share > 0:
        if speakers is None:
            raise ValueError("recipe.adapt_share needs the speaker of every utterance")
        z = adapted_z(feats, idx, speakers, prior, recipe.adapt_share, recipe.adapt_max, recipe.seed)
    else:
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
    """The voice model's description (quantize adds format, precision and tensors); the windows are read from
    `features` when called, as the extraction reads them."""
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
                       "features": VOICE_FEATURES.to_dict(), "window_s": features.WINDOW_S, "hop_s": features.HOP_S,
                       "trim_below_peak_db": features.TRIM_BELOW_PEAK_DB, "level_db": features.LEVEL_DB,
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
