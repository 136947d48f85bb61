"""Text -> the model's input vector, in plain Python and numpy: normalise, tokenise, look n-grams up, weight.

Training (`edge-convert train-text`) imports this module, so the device and the training code cannot disagree.
The vocabulary (one n-gram and its idf per line) ships beside the model; the sidecar's `preprocess` describes
the rest (TextSpec).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

TOKENISER = "edge-emotion/words-1"  # the scheme below; a model trained with another one is refused
# Words (letters, inner apostrophes: "can't"), numbers, and every other visible character alone ("!", "?", emoji).
TOKEN_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+|[^\w\s]", re.UNICODE)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def normalise(text: str) -> str:
    """NFKC (full-width forms, ligatures), lower case, one kind of apostrophe."""
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()


def tokens(text: str) -> list[str]:
    return TOKEN_RE.findall(normalise(text))


def ngrams(toks: Sequence[str], n_max: int, prefix_chars: int = 0) -> Iterable[str]:
    """Unigrams, then bigrams (joined by a space), ... up to `n_max`; then, with `prefix_chars`, the first that many
    letters of each longer word followed by '~' ("disgusting" -> "disgu~"), so word forms share a feature."""
    for n in range(1, n_max + 1):
        for i in range(len(toks) - n + 1):
            yield " ".join(toks[i:i + n])
    if prefix_chars:
        for t in toks:
            if len(t) > prefix_chars and t[0].isalpha():
                yield t[:prefix_chars] + "~"


@dataclass(frozen=True)
class TextSpec:
    """How text becomes the input vector; written into the sidecar's `preprocess` by training."""

    vocabulary: str  # file name beside the model: "<n-gram>\t<idf>" per line, the line number is the feature index
    vocabulary_sha256: str
    size: int  # features = lines of the vocabulary = the model's input width
    ngram_max: int = 2
    max_tokens: int = 64  # longer texts are cut here (and the result says so)
    sublinear_tf: bool = True  # 1 + log(count), as the idf weighting is trained
    tokeniser: str = TOKENISER
    prefix_chars: int = 0  # word-prefix features (see ngrams); 0: none

    @classmethod
    def from_dict(cls, d: dict) -> "TextSpec":
        return cls(str(d["vocabulary"]), str(d["vocabulary_sha256"]), int(d["size"]), int(d.get("ngram_max", 2)),
                   int(d.get("max_tokens", 64)), bool(d.get("sublinear_tf", True)), str(d.get("tokeniser", TOKENISER)),
                   int(d.get("prefix_chars", 0)))

    def to_dict(self) -> dict:
        return {"tokeniser": self.tokeniser, "vocabulary": self.vocabulary, "vocabulary_sha256": self.vocabulary_sha256,
                "size": self.size, "ngram_max": self.ngram_max, "max_tokens": self.max_tokens,
                "sublinear_tf": self.sublinear_tf, "prefix_chars": self.prefix_chars}


def write_vocabulary(path: str | Path, terms: Sequence[str], idf: Sequence[float]) -> str:
    """Write the vocabulary file; returns its sha256 for the description."""
    lines = "".join(f"{t}\t{w:.6f}\n" for t, w in zip(terms, idf))
    data = lines.encode("utf-8")
    Path(path).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


class Vectoriser:
    """Loads the vocabulary once; `vector(text)` gives the L2-normalised tf-idf n-gram vector the model takes."""

    def __init__(self, spec: TextSpec, terms: Sequence[str], idf: np.ndarray) -> None:
        if spec.tokeniser != TOKENISER:
            raise ValueError(f"tokeniser {spec.tokeniser!r} is not this runtime's {TOKENISER!r}; use a text model "
                             "trained with this version of edge-emotion")
        if len(terms) != spec.size:
            raise ValueError(f"vocabulary has {len(terms)} entries, the description says {spec.size}")
        self.spec = spec
        self.index = {t: i for i, t in enumerate(terms)}
        self.idf = np.asarray(idf, np.float32)

    @classmethod
    def load(cls, spec: TextSpec, model_dir: str | Path) -> "Vectoriser":
        path = Path(model_dir) / spec.vocabulary
        try:
            data = path.read_bytes()
        except OSError as e:
            raise FileNotFoundError(f"text vocabulary {path} not readable ({e}); it ships beside the text model") from None
        if hashlib.sha256(data).hexdigest() != spec.vocabulary_sha256:
            raise ValueError(f"{path}: its sha256 differs from the model description's; the vocabulary belongs to "
                             "another model (copy the model, its .json and its vocabulary together)")
        terms, idf = [], []
        for line in data.decode("utf-8").splitlines():
            term, _, weight = line.rpartition("\t")
            terms.append(term)
            idf.append(float(weight))
        return cls(spec, terms, np.asarray(idf, np.float32))

    def counts(self, toks: Sequence[str]) -> dict[int, int]:
        """Feature index -> count, over the n-grams of `toks`."""
        out: dict[int, int] = {}
        for g in ngrams(toks, self.spec.ngram_max, self.spec.prefix_chars):
            i = self.index.get(g)
            if i is not None:
                out[i] = out.get(i, 0) + 1
        return out

    def weights(self, toks: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The non-zero entries of the input vector: (feature indices, L2-normalised tf-idf weights)."""
        c = self.counts(toks)
        idx = np.fromiter(c.keys(), np.int64, len(c))
        tf = np.fromiter(c.values(), np.float32, len(c))
        if self.spec.sublinear_tf and len(tf):
            tf = 1.0 + np.log(tf)
        w = tf * self.idf[idx]
        return idx, w / max(math.sqrt(float(w @ w)), 1e-12)

    def vector(self, toks: Sequence[str]) -> np.ndarray:
        """The model input for one token list (already cut to max_tokens)."""
        x = np.zeros(self.spec.size, np.float32)
        idx, w = self.weights(toks)
        x[idx] = w
        return x
