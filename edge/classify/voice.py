"""Voice emotion on the device: speech gating over the microphone stream, windows over speech, one result per utterance."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..audio.features import FEATURE_SET, FeatureSpec, utterance_windows
from ..audio.frontend import open_front_end
from ..audio.gate import BLOCK_S, FLOOR_DB, GateSettings, LevelMeter, NoiseFloor, block_powers, gate_segment
from ..audio.normalise import RunningNorm
from ..audio.resample import resample
from ..audio.wav import invalid_samples, read_wav, to_mono
from ..labels import LabelledProbs
from .model import Model

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class VoiceResult(LabelledProbs):
    """One utterance's voice emotion, or probs None and the reason no emotion was given."""

    probs: np.ndarray | None
    reason: str | None  # "silence", "too quiet", "too short", "invalid_audio: ..." when probs is None
    labels: tuple[str, ...]
    start_s: float = 0.0  # position in the stream
    duration_s: float = 0.0
    level_db: float = FLOOR_DB  # loudest 30 ms, speech band, dBFS
    floor_db: float = FLOOR_DB  # the segment's noise floor, same scale
    windows: int = 0
    timing_ms: dict = field(default_factory=dict, compare=False)  # "features", "classify"
    adapted: int | None = None  # with `audio.adapt`: utterances in the running statistics, this one included


    def to_dict(self) -> dict:
        d = {"start_s": round(self.start_s, 3), "duration_s": round(self.duration_s, 3),
             "level_db": round(self.level_db, 1), "floor_db": round(self.floor_db, 1)}
        if self.probs is None:
            return {**d, "emotion": None, "reason": self.reason}
        d = {**d, "emotion": self.emotion, "confidence": round(self.confidence, 4), "windows": self.windows,
             "probs": {l: round(float(p), 4) for l, p in zip(self.labels, self.probs)}}
        return d if self.adapted is None else {**d, "adapted": self.adapted}


class VoiceClassifier:
    """Loads the voice model once; gates a segment and turns its speech into probabilities averaged over windows."""

    def __init__(self, path: str | Path, backend: str | None = None, threads: int = 1,
                 providers: Sequence[str] | None = None, gate: GateSettings = GateSettings(),
                 adapt: bool = False) -> None:
        self.model = Model(path, backend=backend, threads=threads, providers=providers)
        d = self.model.description
        if d.task != "voice":
            raise ValueError(f"{path}: task is {d.task!r}, not a voice model")
        p = d.preprocess
        self.labels = d.labels
        self.gate = gate
        # A model of one's own takes waveform or log-mel windows (preprocess.front_end); the project's own models
        # the functionals (feature_set), the speech embedding (embedding), or both side by side.
        self.front_end = open_front_end(p, self.model.input_shape, str(path))
        if self.front_end is not None:
            if adapt:  # the running normalisation is the functionals': a model of one's own takes its windows as is
                logger.info("%s: audio.adapt does not apply to a %s model; ignored", path, self.front_end.name)
            self.functionals, self.embedding, self.norm, self.adapt = False, None, None, False
            self.sample_rate = self.front_end.sample_rate
            return
        self.functionals = p.get("feature_set") is not None
        if self.functionals and p.get("feature_set") != FEATURE_SET:
            raise ValueError(f"{path}: feature set {p.get('feature_set')!r} is not this runtime's {FEATURE_SET!r}; "
                             "use a voice model trained with this version of edge-emotion")
        self.embedding = self._embedding(p.get("embedding"), self.model, threads, providers)
        self.spec = FeatureSpec.from_dict(p["features"])
        self.sample_rate = self.spec.sample_rate
        # The model saw functionals over at most `window_s` of speech; longer speech is windowed with `hop_s`.
        self.window_s, self.hop_s = float(p["window_s"]), float(p["hop_s"])
        self.trim_db = float(p["trim_below_peak_db"])
        self.level_db = float(p["level_db"])
        self.norm = RunningNorm.from_description(p["norm"])
        if self.norm.prior_mean.shape[0] != self.model.input_shape[-1]:
            raise ValueError(f"{path}: description has {self.norm.prior_mean.shape[0]} normalisation values for a "
                             f"model taking {self.model.input_shape[-1]} features; re-run `edge-convert train-audio`")
        self.adapt = adapt

    @staticmethod
    def _embedding(desc: dict | None, model: Model, threads: int, providers):
        """The speech embedding the description names, from the voice model's folder, on the voice model's backend."""
        if not desc:
            return None
        from ..audio.embedding import EMBED_SET, EmbeddingSpec, SpeechEmbedding

        if desc.get("set") != EMBED_SET:
            raise ValueError(f"{model.path}: speech embedding {desc.get('set')!r} is not this runtime's {EMBED_SET!r}; "
                             "use a voice model trained with this version of edge-emotion")
        return SpeechEmbedding(model.path.parent, EmbeddingSpec.from_dict(desc), backend=model.backend.name,
                               threads=threads)

    def reset(self) -> None:
        """Forget the voices heard: the running normalisation starts again from the model's prior (if it has one)."""
        if self.norm is not None:
            self.norm.reset()

    def window_features(self, x: np.ndarray) -> np.ndarray:
        """Mono samples at the model rate -> (windows, features): functionals and/or pooled embeddings, not yet
        normalised; or the waveform or log-mel windows of a model of one's own."""
        if self.front_end is not None:
            return self.front_end.windows(x)
        parts = []
        if self.functionals:
            parts.append(utterance_windows(x, self.window_s, self.hop_s, self.trim_db, self.spec,
                                           level_db=self.level_db))
        if self.embedding is not None:
            parts.append(self.embedding.windows(x, self.window_s, self.hop_s, self.trim_db, self.spec, self.level_db))
        return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]

    def predict_features(self, f: np.ndarray) -> np.ndarray:
        """(windows, features) of one utterance -> probabilities averaged over its windows.

        Without `adapt` (cold start, as trained) the features are z-scored by the training prior. With it,
        the utterance first joins the running statistics of the voices heard so far, then is normalised by them.
        A model of one's own takes its windows as they are.
        """
        if self.norm is None:
            return self.model.predict(f).mean(axis=0)
        if self.adapt:
            self.norm.update(f.mean(axis=0))
        return self.model.predict(self.norm.apply(f)).mean(axis=0)

    def classify(self, x: np.ndarray, rate: int, start_s: float = 0.0) -> VoiceResult:
        """A segment of mono samples at any rate -> its VoiceResult (probs None with a reason for non-speech)."""
        t0 = time.perf_counter()
        x = np.asarray(x, np.float32)
        bad = invalid_samples(x)
        if bad is not None:  # NaN would read as silence and ±1e30 as a 600 dB voice: neither is an answer
            return VoiceResult(None, bad, labels=self.labels, start_s=start_s, duration_s=len(x) / rate)
        g = gate_segment(x, rate, self.gate)
        base = dict(labels=self.labels, start_s=start_s, duration_s=len(x) / rate, level_db=g.peak_db,
                    floor_db=g.floor_db)
        if g.reason is not None:
            return VoiceResult(None, g.reason, **base)
        if self.front_end is not None:  # windows over the speech the gate found
            feats = self.front_end.utterance(x, rate, g)
        else:
            feats = self.window_features(resample(x, rate, self.sample_rate))
        t1 = time.perf_counter()
        probs = self.predict_features(feats)
        timing = {"features": (t1 - t0) * 1e3, "classify": (time.perf_counter() - t1) * 1e3}
        adapted = int(round(self.norm.heard)) if self.adapt else None
        return VoiceResult(probs, None, windows=len(feats), timing_ms=timing, adapted=adapted, **base)

    def classify_file(self, path: str | Path) -> VoiceResult:
        """A whole WAV file as one utterance (the offline `infer` path)."""
        x, rate = read_wav(path)
        return self.classify(to_mono(x), rate)


@dataclass(frozen=True)
class StreamUpdate:
    """What one `feed` call produced: the latest finished utterance (or None), windows classified, time spent."""

    result: VoiceResult | None
    windows: int
    timing_ms: dict


class VoiceStream:
    """Speech gating over a stream: collects each utterance between silences and classifies it when it ends.

    The noise floor is tracked over the whole stream (gate.NoiseFloor); a block `margin_db` over it
    opens an utterance, `end_silence_s` without one closes it. The classifier then judges the cut-out
    segment exactly as it judges a file, so `run` and `infer` give the same answer for the same speech.
    """

    PRE_ROLL_S = 0.2  # audio kept before the first loud block, so soft onsets are not cut

    def __init__(self, classifier: VoiceClassifier, rate: int, end_silence_s: float = 0.4,
                 max_utterance_s: float = 8.0) -> None:
        self.classifier, self.rate = classifier, int(rate)
        self.block = max(1, int(self.rate * BLOCK_S))
        self.end_blocks = max(1, int(round(end_silence_s / BLOCK_S)))
        self.max_blocks = max(1, int(round(max_utterance_s / BLOCK_S)))
        self.pre_blocks = int(round(self.PRE_ROLL_S / BLOCK_S))
        self.meter = LevelMeter()
        self.floor = NoiseFloor(classifier.gate.floor_rise_db_s)
        self._pending = np.zeros(0, np.float32)
        self._blocks: list[np.ndarray] = []  # the current utterance (with pre-roll), block by block
        self._quiet = 0  # consecutive blocks under the speech level inside the utterance
        self._in_speech = False
        self._pos = 0  # blocks consumed since the start
        self.last_level_db = FLOOR_DB
        self.utterances = 0
        self.rejected = 0

    @classmethod
    def from_config(cls, classifier: VoiceClassifier, audio, rate: int) -> "VoiceStream":
        """The stream as the [audio] section says (end_silence_s, max_utterance_s); the gate is the classifier's."""
        return cls(classifier, rate, float(audio.end_silence_s), float(audio.max_utterance_s))

    @property
    def reason(self) -> str | None:
        """Why there is no voice result right now: None while speech is being collected."""
        if self._in_speech:
            return None
        g = self.classifier.gate
        floor = self.floor.db if self.floor.db is not None else FLOOR_DB
        if self.last_level_db >= floor + g.margin_db and self.last_level_db < g.min_level_db:
            return "too quiet"
        return "silence"

    def feed(self, x: np.ndarray) -> StreamUpdate:
        """Feed mono samples at `rate`; the update carries the last utterance that ended in them."""
        results = self.push(x)
        timing = {k: sum(r.timing_ms.get(k, 0.0) for r in results) for k in ("features", "classify")}
        return StreamUpdate(results[-1] if results else None, sum(r.windows for r in results), timing)

    def push(self, x: np.ndarray) -> list[VoiceResult]:
        """Feed mono samples at `rate`; returns the results of all utterances that ended in them."""
        x = np.concatenate([self._pending, np.asarray(x, np.float32).ravel()])
        n = len(x) // self.block
        self._pending = x[n * self.block:]
        out = []
        margin = self.classifier.gate.margin_db
        for i, level in enumerate(self.meter.levels(block_powers(x[: n * self.block], self.rate))):
            level = float(level)
            self.last_level_db = level
            loud = level >= self.floor.update(level) + margin
            r = self._step(x[i * self.block:(i + 1) * self.block], loud)
            if r is not None:
                out.append(r)
        return out

    def _step(self, blk: np.ndarray, loud: bool) -> VoiceResult | None:
        self._pos += 1
        self._blocks.append(blk)
        if not self._in_speech:
            if loud:
                self._in_speech, self._quiet = True, 0
            else:
                del self._blocks[: max(0, len(self._blocks) - self.pre_blocks)]
            return None
        self._quiet = 0 if loud else self._quiet + 1
        if self._quiet >= self.end_blocks or len(self._blocks) >= self.max_blocks:
            return self._finish()
        return None

    def flush(self) -> VoiceResult | None:
        """End of stream: classify the utterance in progress, if any."""
        return self._finish() if self._in_speech else None

    def _finish(self) -> VoiceResult:
        seg = np.concatenate(self._blocks)
        start = (self._pos - len(self._blocks)) * BLOCK_S
        self._blocks, self._in_speech, self._quiet = [], False, 0
        r = self.classifier.classify(seg, self.rate, start_s=start)
        self.utterances += r.probs is not None
        self.rejected += r.probs is None
        return r
