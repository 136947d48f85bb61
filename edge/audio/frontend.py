"""Voice front ends of a model of one's own: 16 kHz waveform windows, or log-mel frames, over the gated speech.

The project's own voice models take the functionals (features.py), made by `edge-convert train-voice`. A model of
one's own (`edge-convert quantize --task voice --front-end waveform|logmel`) takes windows of its input size cut from
the speech the gate found; the sidecar's `preprocess` carries every parameter, and `edge-convert quantize` cuts its
calibration windows with these same classes. numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .features import FeatureSpec, mel_filterbank, stft_power, window_starts
from .gate import GateDecision, speech_span
from .resample import resample

FUNCTIONALS = "functionals"  # the project's own front end (preprocess.feature_set), the default when none is named
SAMPLE_RATE = 16000  # what every front end here feeds: 8 kHz of bandwidth holds the speech cues
HOP = 0.5  # windows overlap by half: each stretch of speech is seen whole by at least one window
MEL_SCALE = "slaney"  # the mel scale and filter normalisation of mel_filterbank (librosa's defaults)
# `edge-convert quantize --front-end logmel` when its flags are left out: the usual speech frame (25 ms window,
# 10 ms hop), librosa's band (0 Hz to Nyquist), and an offset that keeps ln() finite in digital silence.
LOGMEL_DEFAULTS = {"win_ms": 25.0, "hop_ms": 10.0, "fmin": 0.0, "fmax": SAMPLE_RATE / 2, "log_offset": 1e-6}


class FrontEnd:
    """One way of making a voice model's input: windows of its input size over an utterance."""

    name = ""
    KEYS: tuple[str, ...] = ("sample_rate", "hop_s")  # preprocess keys the front end reads

    def __init__(self, pre: dict[str, Any], input_shape: tuple[int, ...], source: str = "<model>") -> None:
        self.shape = tuple(int(v) for v in input_shape[1:])  # one window, without the batch
        missing = [k for k in self.KEYS if k not in pre]
        if missing:
            raise ValueError(f"{source}: the {self.name} front end's preprocess lacks {', '.join(missing)} "
                             "(re-export the model with `edge-convert quantize`)")
        self.sample_rate = int(pre.get("sample_rate", 0))
        if self.sample_rate != SAMPLE_RATE:
            raise ValueError(f"{source}: preprocess.sample_rate {pre.get('sample_rate')!r}; the {self.name} front end "
                             f"feeds {SAMPLE_RATE} Hz samples (re-export the model with `edge-convert quantize`)")
        wrong = self.mismatches(pre, tuple(input_shape))
        if wrong:
            raise ValueError(f"{source}: {'; '.join(wrong)}")
        self.hop_s = float(pre["hop_s"])
        if self.hop_s <= 0:
            raise ValueError(f"{source}: preprocess.hop_s {self.hop_s:g}: must be positive")

    @classmethod
    def dims(cls, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The model input's sizes this front end fills (`shape` without the batch), or ValueError."""
        raise NotImplementedError

    @classmethod
    def mismatches(cls, pre: dict[str, Any], shape: tuple[int, ...]) -> list[str]:
        """Where `preprocess` disagrees with the model's input `shape` (batch first): each names both figures."""
        raise NotImplementedError

    def windows(self, y: np.ndarray) -> np.ndarray:
        """Speech at sample_rate -> (windows, *input shape) float32."""
        raise NotImplementedError

    def utterance(self, x: np.ndarray, rate: int, g: GateDecision) -> np.ndarray:
        """A segment at any rate and the gate's decision on it -> the model's windows over its speech."""
        return self.windows(resample(speech_span(x, rate, g), rate, self.sample_rate))


def _padded(y: np.ndarray, n: int) -> np.ndarray:
    """Speech shorter than one window is zero-padded at its end (silence after it), as the embedding pads its mel."""
    y = np.asarray(y, np.float32)
    return np.pad(y, (0, n - len(y))) if len(y) < n else y


def _shape_error(front: str, takes: str, shape: tuple[int, ...]) -> str:
    return f"the {front} front end feeds an input of {takes}, the model's input is {list(shape)}"


class WaveformFrontEnd(FrontEnd):
    """16 kHz float32 samples (-1..1), windows of the model's input length, hopped by half a window."""

    name = "waveform"
    KEYS = FrontEnd.KEYS + ("samples",)

    @classmethod
    def dims(cls, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) == 1 or (len(shape) == 2 and shape[1] == 1):
            return (int(shape[0]),)
        raise ValueError(_shape_error(cls.name, "[1, samples] or [1, samples, 1]", (1, *shape)))

    @classmethod
    def describe(cls, shape: tuple[int, ...], **given: float) -> dict[str, Any]:
        """The sidecar's `preprocess` for a model taking `shape` (without the batch); samples are fed as they are,
        so nothing else is `given`."""
        (n,) = cls.dims(shape)
        return {"front_end": cls.name, "sample_rate": SAMPLE_RATE, "samples": n, "hop_s": n * HOP / SAMPLE_RATE}

    @classmethod
    def mismatches(cls, pre: dict[str, Any], shape: tuple[int, ...]) -> list[str]:
        try:
            (n,) = cls.dims(shape[1:])
        except ValueError as e:
            return [str(e)]
        want = pre.get("samples")
        if want != n:
            return [f"preprocess.samples {want} (samples per window), the model's input has {n} samples"]
        return []

    def windows(self, y: np.ndarray) -> np.ndarray:
        n = self.shape[0]
        y = _padded(y, n)
        hop = max(1, int(round(self.hop_s * self.sample_rate)))
        return np.stack([y[s:s + n] for s in window_starts(len(y), n, hop)]).reshape(-1, *self.shape)


class LogMelFrontEnd(FrontEnd):
    """ln(mel power + log_offset) frames (Slaney mel filters, periodic Hann, frames not centred: librosa's
    melspectrogram with center=False), windows of the model's frame count, hopped by half a window."""

    name = "logmel"
    SPEC = ("n_fft", "win_length", "hop_length", "n_mels", "fmin", "fmax")  # preprocess keys that are FeatureSpec's
    KEYS = FrontEnd.KEYS + ("frames", "log_offset") + SPEC

    def __init__(self, pre: dict[str, Any], input_shape: tuple[int, ...], source: str = "<model>") -> None:
        super().__init__(pre, input_shape, source)
        if pre.get("mel_scale", MEL_SCALE) != MEL_SCALE:
            raise ValueError(f"{source}: preprocess.mel_scale {pre.get('mel_scale')!r}; this runtime computes "
                             f"{MEL_SCALE!r} mel filters only")
        self.spec = FeatureSpec(sample_rate=self.sample_rate, **{k: pre[k] for k in self.SPEC})
        self.log_offset = float(pre["log_offset"])
        sp = self.spec
        if not (0 <= sp.fmin < sp.fmax <= self.sample_rate / 2 and 0 < sp.win_length <= sp.n_fft
                and sp.hop_length > 0 and self.log_offset > 0):
            raise ValueError(f"{source}: preprocess fmin {sp.fmin:g}, fmax {sp.fmax:g}, win_length {sp.win_length}, "
                             f"n_fft {sp.n_fft}, hop_length {sp.hop_length}, log_offset {self.log_offset:g}: need "
                             f"0 <= fmin < fmax <= {self.sample_rate // 2}, 0 < win_length <= n_fft, hop_length > 0 "
                             "and log_offset > 0")

    @classmethod
    def dims(cls, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) == 2 or (len(shape) == 3 and shape[2] == 1):
            return int(shape[0]), int(shape[1])
        raise ValueError(_shape_error(cls.name, "[1, frames, mels] or [1, frames, mels, 1]", (1, *shape)))

    @classmethod
    def describe(cls, shape: tuple[int, ...], **given: float) -> dict[str, Any]:
        """The sidecar's `preprocess` for a model taking `shape` (frames, mels[, 1]) without the batch; the
        parameters not `given` (win_ms, hop_ms, fmin, fmax, log_offset) are LOGMEL_DEFAULTS."""
        frames, mels = cls.dims(shape)
        p = {**LOGMEL_DEFAULTS, **given}
        win_ms, hop_ms, fmin, fmax = p["win_ms"], p["hop_ms"], p["fmin"], p["fmax"]
        win, hop = int(round(win_ms * SAMPLE_RATE / 1000)), int(round(hop_ms * SAMPLE_RATE / 1000))
        if not 0 < hop <= win:
            raise ValueError(f"--win-ms {win_ms:g}, --hop-ms {hop_ms:g}: need 0 < hop <= window")
        if not 0 <= fmin < fmax <= SAMPLE_RATE / 2:
            raise ValueError(f"--fmin {fmin:g}, --fmax {fmax:g}: need 0 <= fmin < fmax <= {SAMPLE_RATE // 2}")
        if not p["log_offset"] > 0:
            raise ValueError(f"--log-offset {p['log_offset']:g}: must be positive (ln(0) is -infinity)")
        n_fft = 1 << (win - 1).bit_length()  # the window zero-padded to a power of two, centred (librosa's layout)
        return {"front_end": cls.name, "sample_rate": SAMPLE_RATE, "frames": frames, "n_mels": mels, "n_fft": n_fft,
                "win_length": win, "hop_length": hop, "fmin": float(fmin), "fmax": float(fmax),
                "mel_scale": MEL_SCALE, "log_offset": float(p["log_offset"]), "hop_s": (frames // 2) * hop / SAMPLE_RATE}

    @classmethod
    def mismatches(cls, pre: dict[str, Any], shape: tuple[int, ...]) -> list[str]:
        try:
            frames, mels = cls.dims(shape[1:])
        except ValueError as e:
            return [str(e)]
        want = (pre.get("frames"), pre.get("n_mels"))
        if want != (frames, mels):
            return [f"preprocess.frames {want[0]} x n_mels {want[1]}, the model's input is {frames} frames x "
                    f"{mels} mels"]
        return []

    def window_samples(self) -> int:
        """Samples that make one window of frames (frames are not centred: n_fft + hop_length per further frame)."""
        return self.spec.n_fft + self.spec.hop_length * (self.shape[0] - 1)

    def log_mel(self, y: np.ndarray) -> np.ndarray:
        """Samples at sample_rate -> (T, n_mels) ln(mel power + log_offset)."""
        return np.log(stft_power(y, self.spec) @ mel_filterbank(self.spec) + np.float32(self.log_offset))

    def windows(self, y: np.ndarray) -> np.ndarray:
        mel = self.log_mel(_padded(y, self.window_samples()))
        frames = self.shape[0]
        hop = max(1, int(round(self.hop_s * self.sample_rate / self.spec.hop_length)))
        return np.stack([mel[s:s + frames] for s in window_starts(len(mel), frames, hop)]).reshape(-1, *self.shape)


FRONT_ENDS: dict[str, type[FrontEnd]] = {c.name: c for c in (WaveformFrontEnd, LogMelFrontEnd)}
NAMES = (FUNCTIONALS, *FRONT_ENDS)  # preprocess.front_end and `edge-convert quantize --front-end`


def front_end_name(pre: dict[str, Any]) -> str:
    """A voice sidecar's front end; none named is the functionals (every sidecar before there were others)."""
    return str(pre.get("front_end", FUNCTIONALS))


def open_front_end(pre: dict[str, Any], input_shape: tuple[int, ...], source: str = "<model>") -> FrontEnd | None:
    """The front end a voice sidecar names, checked against the model's input; None for the functionals."""
    name = front_end_name(pre)
    if name == FUNCTIONALS:
        return None
    if name not in FRONT_ENDS:
        raise ValueError(f"{source}: preprocess.front_end {name!r} is not one of {', '.join(NAMES)}")
    return FRONT_ENDS[name](pre, input_shape, source)


def mismatches(pre: dict[str, Any], shape: tuple[int, ...]) -> list[str]:
    """A voice sidecar's front end against the model's input `shape` (check-config, model loading)."""
    name = front_end_name(pre)
    if name == FUNCTIONALS:
        return []
    if name not in FRONT_ENDS:
        return [f"preprocess.front_end {name!r} is not one of {', '.join(NAMES)}"]
    return FRONT_ENDS[name].mismatches(pre, shape)
