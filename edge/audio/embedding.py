"""A pretrained speech embedding (Google's speech_embedding as exported by openWakeWord) pooled over voice windows.

Two model files run through the ordinary backends (edge/backends): `melspectrogram` (16 kHz samples in int16
scale -> 32 mel bands per 10 ms frame) and `embedding_model` (76 mel frames, 0.775 s -> 96 numbers). Over each
window of the voice front end (features.utterance_windows' windows, the same trimmed speech at the same level)
the embeddings are pooled into their mean and standard deviation: 192 numbers per window.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..backends import open_backend
from .features import VOICE_FEATURES, FeatureSpec, frame_energy_db, normalise_level, trim_bounds, window_starts

EMBED_SET = "speech-embedding/1"  # bump when the computation below changes
EMBED_DIM = 96


@dataclass(frozen=True)
class EmbeddingSpec:
    """Every parameter of the embedding front end; written into the voice model's description."""

    mel_model: str = "speech_embedding_mel"  # file stem in edge/models (.tflite / .onnx beside each other)
    embedding_model: str = "speech_embedding"
    window_frames: int = 76  # the backbone's input: 76 mel frames (openWakeWord's window)
    stride_frames: int = 32  # 320 ms between embeddings: a quarter of openWakeWord's 80 ms stride's cost
    frame_samples: int = 512  # the mel model's frame: n frames need 512 + 160 (n - 1) samples
    hop_samples: int = 160
    chunk_frames: int = 100  # the mel model runs on fixed 1 s chunks (a batch), so a TFLite graph is planned once
    mel_scale: float = 0.1  # openWakeWord feeds the backbone mel / 10 + 2
    mel_offset: float = 2.0
    int16_scale: float = 32768.0  # both models take samples in int16 scale

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EmbeddingSpec":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def _open(folder: Path, stem: str, backend: str | None, threads: int):
    """The stem's .tflite (or, for onnxruntime, its .onnx) through the named backend."""
    onnx = backend == "onnxruntime"
    path = folder / f"{stem}.{'onnx' if onnx else 'tflite'}"
    if backend is None and not path.is_file():
        path = path.with_suffix(".onnx")
    return open_backend(path, backend=backend, threads=threads)


class SpeechEmbedding:
    """Loads both models once; `windows` pools the embeddings of one utterance over the voice windows."""

    def __init__(self, folder: str | Path, spec: EmbeddingSpec = EmbeddingSpec(), backend: str | None = None,
                 threads: int = 1) -> None:
        self.spec = spec
        folder = Path(folder)
        self.mel = _open(folder, spec.mel_model, backend, threads)
        self.net = _open(folder, spec.embedding_model, backend, threads)

    def mel_frames(self, x: np.ndarray) -> np.ndarray:
        """Samples (float, full scale 1.0) -> (frames, 32) mel features as the backbone takes them."""
        s = self.spec
        n = max(0, (len(x) - s.frame_samples) // s.hop_samples + 1)
        chunks = max(1, -(-n // s.chunk_frames))
        size = s.frame_samples + s.hop_samples * (s.chunk_frames - 1)
        step = s.hop_samples * s.chunk_frames
        pad = np.zeros(step * (chunks - 1) + size, np.float32)
        pad[:len(x)] = np.asarray(x, np.float32)[:len(pad)] * s.int16_scale
        batch = np.lib.stride_tricks.sliding_window_view(pad, size)[::step][:chunks]
        out = self.mel.run(np.ascontiguousarray(batch, np.float32))[0]  # (chunks, 1, chunk_frames, 32)
        mel = out.reshape(-1, out.shape[-1])[:max(n, 1)]
        return (mel * s.mel_scale + s.mel_offset).astype(np.float32)

    def embed(self, mel: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """(frames, 32) mel -> (embeddings, 96) every stride_frames, and the first frame of each."""
        s = self.spec
        if len(mel) < s.window_frames:  # shorter than one window: repeat the last frame (a tail of silence)
            mel = np.concatenate([mel, np.repeat(mel[-1:], s.window_frames - len(mel), axis=0)])
        starts = window_starts(len(mel), s.window_frames, s.stride_frames)
        batch = np.stack([mel[a:a + s.window_frames] for a in starts])[..., None]
        return self.net.run(batch.astype(np.float32))[0].reshape(len(starts), -1), starts

    def windows(self, x: np.ndarray, window_s: float, hop_s: float, trim_db: float,
                spec: FeatureSpec = VOICE_FEATURES, level_db: float | None = None) -> np.ndarray:
        """Mono samples -> (windows, 192): mean and std of the embeddings inside each of utterance_windows' windows."""
        if level_db is not None:
            x = normalise_level(x, level_db, spec)
        a, b = trim_bounds(frame_energy_db(x, spec), trim_db)
        seg = np.asarray(x, np.float32)[a * spec.hop_length:(b - 1) * spec.hop_length + spec.n_fft]
        emb, starts = self.embed(self.mel_frames(seg))
        window = int(round(window_s * spec.sample_rate / spec.hop_length))
        hop = int(round(hop_s * spec.sample_rate / spec.hop_length))
        st = np.asarray(starts)
        out = []
        for w0 in window_starts(b - a, window, hop):
            inside = (st >= w0) & (st + self.spec.window_frames <= w0 + window)
            if not inside.any():  # the window is shorter than one embedding: the embeddings that overlap it
                inside = (st < w0 + window) & (st + self.spec.window_frames > w0)
            e = emb[inside]
            out.append(np.concatenate([e.mean(axis=0), e.std(axis=0)]))
        return np.stack(out).astype(np.float32)
