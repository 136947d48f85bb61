"""The voice classifier: a softmax layer over z-scored functionals, fitted by L-BFGS, exported through Keras.

Full-batch L-BFGS on the exact, L2-regularised multinomial likelihood is deterministic and takes
seconds on a CPU; the weights then go into a one-layer Keras model so convert/quantize.py makes the
int8 TFLite and ONNX files from it like any other model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

NORM_CLIP = 5.0  # z-scores beyond +-5 are outliers; clipping keeps the int8 input step fine (10/255)


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


def balanced_weights(y: np.ndarray, corpus: np.ndarray) -> np.ndarray:
    """Row weights: each corpus half the total, each class an equal share of its corpus; mean weight 1.

    Emo-DB (428 files) and RAVDESS (840 here) then pull equally, and RAVDESS's 4 neutral files per actor
    count as much as its 8 angry ones.
    """
    w = np.zeros(len(y))
    corpora = np.unique(corpus)
    for c in corpora:
        in_c = corpus == c
        classes = np.unique(y[in_c])
        for k in classes:
            m = in_c & (y == k)
            w[m] = 1.0 / (m.sum() * len(classes) * len(corpora))
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


def softmax_predict(W: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Float reference of the exported model: (rows, d) z-scores -> probabilities."""
    logits = z @ W + b
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def to_keras(W: np.ndarray, b: np.ndarray) -> Any:
    """A Keras model computing softmax(z W + b) on (batch, d) z-scores, named as convert/quantize expects."""
    import keras

    d, k = W.shape
    model = keras.Sequential([keras.Input((d,), name="features"), keras.layers.Dense(k, activation="softmax")],
                             name="voice")
    model.layers[-1].set_weights([W, b])
    return model
