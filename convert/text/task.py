"""What train-text, quantize and validate-text share about the text model: vocabulary, vectors, metrics, description."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from edge.labels import FACE_LABELS
from edge.text.features import SPOKEN_PARTS, TOKENISER, TextSpec, Vectoriser, ngrams, tokens_for, write_vocabulary

from .goemotions import load

VOCABULARY_FILE = "text_vocab.tsv"
SPEC_FILE = "text_spec.json"  # train-text writes it beside the model; quantize puts it into the descriptions
TRAINING_DATA = {
    "dataset": "GoEmotions (Demszky et al., ACL 2020), English Reddit comments",
    "labels": "the paper's Ekman grouping of the 27 categories onto angry, disgust, fear, happy, sad, surprise, neutral",
    "splits": {"train": "train.tsv (43,410)", "selection": "dev.tsv (5,426)", "report": "test.tsv (5,427)"},
    "licence": "Apache-2.0 (dataset card)",
    "citation": "Demszky et al., GoEmotions: A Dataset of Fine-Grained Emotions, ACL 2020",
}
MELD_DATA = {
    "dataset": "MELD (Poria et al., ACL 2019), Friends dialogue lines",
    "labels": "MELD's seven emotions (joy = happy)",
    "splits": {"train": "train_sent_emo.csv (9,989)", "selection": "dev_sent_emo.csv (1,109)",
               "report": "dev_sent_emo.csv (the test split is held out)"},
    "licence": "GPL-3.0 (the MELD repository)",
    "citation": "Poria et al., MELD: A Multimodal Multi-Party Dataset for Emotion Recognition in Conversations, ACL 2019",
}


def fit_vocabulary(docs: Sequence[Sequence[str]], ngram_max: int, min_df: int, max_size: int,
                   prefix_chars: int = 0, chars: tuple[int, int] = (0, 0)) -> tuple[list[str], np.ndarray]:
    """The `max_size` n-grams in most documents (at least `min_df`), and their smoothed idf (sklearn's formula)."""
    df: Counter = Counter()
    for toks in docs:
        df.update(set(ngrams(toks, ngram_max, prefix_chars, chars)))
    kept = sorted((g for g, c in df.items() if c >= min_df), key=lambda g: (-df[g], g))[:max_size]
    n = len(docs)
    idf = np.array([math.log((1 + n) / (1 + df[g])) + 1.0 for g in kept], np.float32)
    return kept, idf


def build_vocabulary(texts: Sequence[str], out: Path, ngram_max: int, min_df: int, max_size: int, max_tokens: int,
                     prefix_chars: int = 0, tokeniser: str = TOKENISER, chars: tuple[int, int] = (0, 0),
                     training_data: Sequence[dict] = (TRAINING_DATA,), char_weight: float = 0.0,
                     parts: frozenset[str] = SPOKEN_PARTS) -> Vectoriser:
    """Fit the vocabulary on the training texts; write it and the spec (with the training data named) into `out`."""
    docs = [tokens_for(t, tokeniser, parts)[:max_tokens] for t in texts]
    terms, idf = fit_vocabulary(docs, ngram_max, min_df, max_size, prefix_chars, chars)
    sha = write_vocabulary(out / VOCABULARY_FILE, terms, idf)
    spec = TextSpec(VOCABULARY_FILE, sha, len(terms), ngram_max, max_tokens, prefix_chars=prefix_chars,
                    tokeniser=tokeniser, char_min=chars[0], char_max=chars[1],
                    char_weight=char_weight if chars[0] else 0.0)
    (out / SPEC_FILE).write_text(json.dumps({**spec.to_dict(), "training_data": list(training_data)}, indent=1) + "\n")
    vec = Vectoriser(spec, terms, idf)
    vec.parts = parts
    return vec


def training_data(folder: str | Path) -> Any:
    """What train-text wrote into the spec about its data: one dataset's description, or a list of them."""
    d = json.loads((Path(folder) / SPEC_FILE).read_text()).get("training_data", [TRAINING_DATA])
    return d[0] if len(d) == 1 else d


def load_vectoriser(folder: str | Path) -> Vectoriser:
    """The vectoriser train-text wrote into `folder` (its spec and vocabulary)."""
    folder = Path(folder)
    spec = TextSpec.from_dict(json.loads((folder / SPEC_FILE).read_text()))
    return Vectoriser.load(spec, folder)


def vectors(vec: Vectoriser, texts: Sequence[str], sparse: bool = False):
    """Model inputs of `texts`: a scipy CSR matrix (training) or a dense float32 array."""
    from scipy.sparse import csr_matrix

    rows = [vec.weights(vec.tokens(t)[:vec.spec.max_tokens]) for t in texts]
    indptr = np.cumsum([0] + [len(i) for i, _ in rows])
    idx = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, np.int64)
    val = np.concatenate([w for _, w in rows]).astype(np.float32) if rows else np.zeros(0, np.float32)
    m = csr_matrix((val, idx, indptr), shape=(len(texts), vec.spec.size), dtype=np.float32)
    return m if sparse else m.toarray()


def calibration(data: str | Path, model_dir: str | Path, n: int, seed: int = 0) -> np.ndarray:
    """`n` random training texts as model inputs: GoEmotions comments, and MELD lines where the model learnt them."""
    from . import meld

    texts = load(data, splits=("train",))["train"].texts
    if any("MELD" in d.get("dataset", "") for d in _as_list(training_data(model_dir))):
        texts = texts + meld.load(splits=("train",))["train"].texts
    idx = np.sort(np.random.default_rng(seed).choice(len(texts), min(n, len(texts)), replace=False))
    return vectors(load_vectoriser(model_dir), [texts[i] for i in idx])


def _as_list(d: Any) -> list[dict]:
    return d if isinstance(d, list) else [d]


def multilabel_scores(y: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """The runtime's answer (the arg-max label) scored against multi-label gold.

    Per class: a row predicted c is a true positive when c is among its gold labels, else a false positive; a
    row with c among its gold labels predicted otherwise is a false negative. `macro_f1` is the mean over the 7
    labels; `accuracy_single` is the accuracy on the rows with exactly one gold label. Rows of NaN are refused
    texts: they predict nothing.
    """
    refused = np.isnan(probs).any(axis=1)  # texts the device gave no emotion for: no prediction at all
    pred = np.where(refused, -1, np.nan_to_num(probs).argmax(1))
    f1, per = [], {}
    for c, lab in enumerate(FACE_LABELS):
        hit, gold = pred == c, y[:, c] == 1
        tp, fp, fn = int((hit & gold).sum()), int((hit & ~gold).sum()), int((~hit & gold).sum())
        f = 2 * tp / max(1, 2 * tp + fp + fn)
        f1.append(f)
        per[lab] = {"f1": f, "precision": tp / max(1, tp + fp), "recall": tp / max(1, tp + fn), "support": int(gold.sum())}
    single = y.sum(1) == 1
    hit_any = np.where(pred >= 0, y[np.arange(len(y)), np.maximum(pred, 0)], 0.0)
    return {"n": int(len(y)), "macro_f1": float(np.mean(f1)), "n_single": int(single.sum()),
            "accuracy_single": float((y[single].argmax(1) == pred[single]).mean()),
            "accuracy_any": float(hit_any.mean()),  # the prediction is one of the gold labels
            "per_class": per}


def single_label_scores(y: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """MELD's figures of the arg-max answer against one gold label per line: UAR (mean recall over the 7 labels),
    weighted F1 (F1 per label weighted by its support, MELD's usual figure), macro-F1, accuracy."""
    m = multilabel_scores(y, probs)
    per = m["per_class"]
    n = sum(p["support"] for p in per.values())
    return {"n": m["n"], "uar": float(np.mean([p["recall"] for p in per.values()])),
            "weighted_f1": float(sum(p["f1"] * p["support"] for p in per.values()) / max(1, n)),
            "macro_f1": m["macro_f1"], "accuracy": m["accuracy_single"], "per_class": per}


def description(spec: TextSpec, version: str, metrics: dict[str, Any] | None = None,
                training: Any = None) -> dict[str, Any]:
    """The caller-given part of every text artifact's sidecar."""
    d: dict[str, Any] = {"name": "text", "task": "text", "version": version, "labels": list(FACE_LABELS),
                         "preprocess": spec.to_dict(), "training_data": training or TRAINING_DATA, "language": "en"}
    if metrics:
        d["metrics"] = metrics
    return d
