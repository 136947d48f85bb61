"""Text emotion on the device: checks on the input, the vocabulary's vector, the int8 model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..labels import LabelledProbs
from ..text.decode import TextInputError, check
from ..text.features import TextSpec, Vectoriser, tokens
from ..text.language import is_english
from .model import Model


@dataclass(frozen=True)
class TextResult(LabelledProbs):
    """One text's emotion, or probs None and the reason none was given."""

    probs: np.ndarray | None
    reason: str | None
    labels: tuple[str, ...]
    tokens: int = 0  # tokens read (after truncation)
    truncated: bool = False  # the text was longer than the model reads; only its start was classified
    language_supported: bool = True
    context: bool = False  # the previous text of the conversation was mixed in (text.context)

    def to_dict(self) -> dict:
        d: dict = {"emotion": self.emotion}
        if self.probs is None:
            d["reason"] = self.reason
        else:
            d["confidence"] = round(self.confidence, 4)
            d["probs"] = {l: round(float(p), 4) for l, p in zip(self.labels, self.probs)}
        d.update(tokens=self.tokens, truncated=self.truncated, language_supported=self.language_supported,
                 context=self.context)
        return d


def with_context(res: TextResult, previous: np.ndarray | None, weight: float) -> TextResult:
    """The conversation's previous text informs this one: its probabilities mixed in with `weight` (text.context);
    unchanged when there is no weight, no previous text or no emotion for this one."""
    if weight <= 0 or previous is None or res.probs is None:
        return res
    return dataclasses.replace(res, probs=(1.0 - weight) * res.probs + weight * previous, context=True)


class TextClassifier:
    """Loads the text model and its vocabulary once; turns a text into probabilities over its labels."""

    def __init__(self, path: str | Path, backend: str | None = None, threads: int = 1,
                 providers: Sequence[str] | None = None, max_chars: int = 2000) -> None:
        self.model = Model(path, backend=backend, threads=threads, providers=providers)
        d = self.model.description
        if d.task != "text":
            raise ValueError(f"{path}: task is {d.task!r}, not a text model")
        self.labels = d.labels
        self.spec = TextSpec.from_dict(d.preprocess)
        self.vectoriser = Vectoriser.load(self.spec, self.model.path.parent)
        if self.model.input_shape[-1] != self.spec.size:
            raise ValueError(f"{path}: the model takes {self.model.input_shape[-1]} features, its vocabulary has "
                             f"{self.spec.size}; re-run `edge-convert train-text`")
        self.max_chars = max_chars

    def classify(self, text: str, truncated: bool = False) -> TextResult:
        """A text (any length) -> its TextResult; TextInputError for what is not text. `truncated`: the text was
        already cut on arrival (a payload over its byte limit)."""
        text = text.lstrip()
        cut = truncated or len(text.rstrip()) > self.max_chars
        text = check(text[:self.max_chars])  # cut first: every step below walks the characters
        words = tokens(text)  # as written: for the language check
        toks = self.vectoriser.tokens(text)  # as the model reads them (v2: contractions expanded ...)
        cut = cut or len(toks) > self.spec.max_tokens
        toks = toks[:self.spec.max_tokens]
        base = dict(labels=self.labels, tokens=len(toks), truncated=cut)
        if not any(t[0].isalpha() for t in toks):
            return TextResult(None, "no words", **base)
        english, looks_like = is_english(text, words[:self.spec.max_tokens])
        if not english:
            return TextResult(None, f"language not supported ({looks_like}; the text model reads English only)",
                              language_supported=False, **base)
        x = self.vectoriser.vector(toks)[None, :]
        return TextResult(self.model.predict(x)[0], None, **base)
