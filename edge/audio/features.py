"""Speech features with numpy alone: log-mel, MFCC, spectral and pitch descriptors, and their functionals.

The training code in convert/ calls these same functions, and each voice model's description
carries the FeatureSpec it was trained with; the device rebuilds the spec from the description.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FeatureSpec:
    """Every parameter of the front-end; written into each voice model's description."""

    sample_rate: int = 16000  # Emo-DB was recorded at 16 kHz; 8 kHz of bandwidth holds the speech cues
    n_fft: int = 512  # 32 ms FFT frame
    win_length: int = 400  # 25 ms Hann window, centred in the FFT frame (the usual speech frame)
    hop_length: int = 160  # 10 ms hop
    n_mels: int = 40
    fmin: float = 50.0  # below the lowest male F0, above mains hum
    fmax: float = 8000.0
    n_mfcc: int = 20
    f0_min: float = 60.0  # pitch search range covering male and female speech
    f0_max: float = 400.0
    voicing_threshold: float = 0.45  # normalised autocorrelation peak above which a frame counts as voiced
    amin: float = 1e-10  # power floor before the log: -100 dB

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FeatureSpec":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


VOICE_FEATURES = FeatureSpec()
FEATURE_SET = "functionals/2"  # bump when the computation changes; models name the set they were trained on
# functionals/2: the speech is scaled to the description's level_db (normalise_level) before the descriptors.
FUNCTIONALS = ("mean", "std", "skew", "kurtosis", "p5", "p25", "p50", "p75", "p95", "slope")
_PERCENTILES = (5, 25, 50, 75, 95)
ACTIVE_RANGE_DB = 30.0  # blocks this far under the loudest are pauses or noise, not the talker's level
F0_FUNCTIONALS = ("voiced_fraction", "f0_mean", "f0_std", "f0_p5", "f0_p50", "f0_p95", "f0_slope")


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, np.float64)
    mel = f / (200.0 / 3)
    logstep = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / logstep, mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    logstep = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), m * (200.0 / 3))


@lru_cache(maxsize=8)
def mel_filterbank(spec: FeatureSpec) -> np.ndarray:
    """(n_bins, n_mels) Slaney-normalised triangular filters, as librosa.filters.mel builds them."""
    freqs = np.linspace(0, spec.sample_rate / 2, spec.n_fft // 2 + 1)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(spec.fmin), _hz_to_mel(spec.fmax), spec.n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    w = np.maximum(0.0, np.minimum(lower, upper))
    w *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return np.ascontiguousarray(w.T.astype(np.float32))


@lru_cache(maxsize=8)
def _window(spec: FeatureSpec) -> np.ndarray:
    """Periodic Hann of win_length, zero-padded to n_fft and centred (librosa's stft layout)."""
    n = spec.win_length
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    left = (spec.n_fft - n) // 2
    return np.pad(w, (left, spec.n_fft - n - left)).astype(np.float32)


@lru_cache(maxsize=8)
def _dct(n_in: int, n_out: int) -> np.ndarray:
    """(n_in, n_out) orthonormal DCT-II matrix (scipy's dct type 2, norm='ortho')."""
    n = np.arange(n_in)
    k = np.arange(n_out)
    m = np.cos(np.pi * k[None, :] * (2 * n[:, None] + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    m[:, 0] /= np.sqrt(2.0)
    return m.astype(np.float32)


def frame(x: np.ndarray, spec: FeatureSpec = VOICE_FEATURES) -> np.ndarray:
    """Mono samples -> (T, n_fft) frames at hop_length, without padding (librosa center=False)."""
    x = np.asarray(x, np.float32)
    if x.size < spec.n_fft:
        return np.zeros((0, spec.n_fft), np.float32)
    return np.lib.stride_tricks.sliding_window_view(x, spec.n_fft)[::spec.hop_length]


def stft_power(x: np.ndarray, spec: FeatureSpec = VOICE_FEATURES) -> np.ndarray:
    """(T, n_fft/2+1) power spectrum |X|^2 of the Hann-windowed frames."""
    X = np.fft.rfft(frame(x, spec) * _window(spec), axis=1)
    return (X.real ** 2 + X.imag ** 2).astype(np.float32)


def log_mel(power: np.ndarray, spec: FeatureSpec = VOICE_FEATURES) -> np.ndarray:
    """Power spectrum -> (T, n_mels) log-mel energies in dB (10 log10, floored at amin)."""
    return 10.0 * np.log10(np.maximum(power @ mel_filterbank(spec), spec.amin))


def mfcc(logmel_db: np.ndarray, spec: FeatureSpec = VOICE_FEATURES) -> np.ndarray:
    """Log-mel dB -> (T, n_mfcc) cepstral coefficients (DCT-II ortho, as librosa.feature.mfcc)."""
    return logmel_db @ _dct(logmel_db.shape[1], spec.n_mfcc)


def delta(x: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression delta over +-width frames (HTK formula), edges repeated."""
    if len(x) == 0:
        return x
    p = np.pad(x, ((width, width), (0, 0)), mode="edge")
    n = len(x)
    num = sum(k * (p[width + k:width + k + n] - p[width - k:width - k + n]) for k in range(1, width + 1))
    return num / (2.0 * sum(k * k for k in range(1, width + 1)))


def spectral(power: np.ndarray, spec: FeatureSpec = VOICE_FEATURES) -> dict[str, np.ndarray]:
    """Per-frame centroid, bandwidth and 85% roll-off (Hz, on the magnitude), flatness and flux."""
    mag = np.sqrt(power)
    freqs = np.linspace(0, spec.sample_rate / 2, power.shape[1], dtype=np.float32)
    total = np.maximum(mag.sum(axis=1, keepdims=True), 1e-10)
    p = mag / total
    centroid = p @ freqs
    bandwidth = np.sqrt(np.maximum(p @ (freqs ** 2) - centroid ** 2, 0.0))
    rolloff = freqs[np.minimum((np.cumsum(p, axis=1) < 0.85).sum(axis=1), len(freqs) - 1)]
    rolloff[total[:, 0] <= 1e-10] = 0.0  # a silent frame has no roll-off (librosa reads 0 as well)
    logp = np.log(np.maximum(power, spec.amin))
    flatness = np.exp(logp.mean(axis=1)) / np.maximum(power.mean(axis=1), spec.amin)
    flux = np.r_[0.0, np.sqrt((np.diff(p, axis=0) ** 2).sum(axis=1))] if len(p) else np.zeros(0)
    return {"centroid": centroid, "bandwidth": bandwidth, "rolloff": rolloff, "flatness": flatness, "flux": flux}


def pitch(frames: np.ndarray, spec: FeatureSpec = VOICE_FEATURES) -> tuple[np.ndarray, np.ndarray]:
    """Autocorrelation pitch proxy: (F0 in Hz, voicing strength 0..1) per frame."""
    w = _window(spec)
    n = 1 << int(np.ceil(np.log2(2 * spec.n_fft)))  # zero-padding to 2x frame: no circular wrap-around
    X = np.fft.rfft((frames - frames.mean(axis=1, keepdims=True)) * w, n=n, axis=1)
    ac = np.fft.irfft(X.real ** 2 + X.imag ** 2, n=n, axis=1)
    ac_w = np.fft.irfft(np.abs(np.fft.rfft(w, n=n)) ** 2, n=n)  # the window's own autocorrelation
    lo, hi = int(spec.sample_rate / spec.f0_max), int(spec.sample_rate / spec.f0_min)
    # Dividing by the window's autocorrelation undoes its taper, so the peak height reads as periodicity.
    r = ac[:, lo:hi + 1] / np.maximum(ac[:, :1], 1e-12) * (ac_w[0] / np.maximum(ac_w[lo:hi + 1], 1e-12))
    lag = r.argmax(axis=1)
    strength = np.clip(r[np.arange(len(r)), lag], 0.0, 1.0)
    return spec.sample_rate / (lag + lo), strength




def lld(x: np.ndarray, spec: FeatureSpec = VOICE_FEATURES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mono samples at spec.sample_rate -> ((T, n_lld) frame descriptors, F0 Hz, voicing strength)."""
    fr = frame(x, spec)
    X = np.fft.rfft(fr * _window(spec), axis=1)
    power = (X.real ** 2 + X.imag ** 2).astype(np.float32)
    mel = log_mel(power, spec)
    cep = mfcc(mel, spec)
    # Parseval: sum|X|^2 / (n_fft * sum w^2) is the window-weighted mean square, so a full-scale sine reads -3 dB.
    w2 = float((_window(spec) ** 2).sum()) * spec.n_fft
    energy = 10.0 * np.log10(np.maximum(power.sum(axis=1, keepdims=True) / w2, spec.amin))
    zcr = (np.abs(np.diff(np.signbit(fr), axis=1)).sum(axis=1) / fr.shape[1])[:, None] if len(fr) else np.zeros((0, 1))
    s = spectral(power, spec)
    f0, voicing = pitch(fr, spec)
    cols = [mel, cep, delta(cep), delta(delta(cep)), energy, delta(energy), zcr,
            np.stack([s["centroid"] / 1000.0, s["bandwidth"] / 1000.0, s["rolloff"] / 1000.0,
                      np.log10(np.maximum(s["flatness"], 1e-10)), s["flux"], voicing], axis=1)]
    return np.concatenate(cols, axis=1).astype(np.float32), f0, voicing


def lld_names(spec: FeatureSpec = VOICE_FEATURES) -> list[str]:
    """Column names of `lld`, in order."""
    m = spec.n_mfcc
    return ([f"logmel{i}" for i in range(spec.n_mels)] + [f"mfcc{i}" for i in range(m)]
            + [f"d_mfcc{i}" for i in range(m)] + [f"dd_mfcc{i}" for i in range(m)]
            + ["energy_db", "d_energy_db", "zcr", "centroid_khz", "bandwidth_khz", "rolloff_khz",
               "log_flatness", "flux", "voicing"])


def trim(d: np.ndarray, f0: np.ndarray, voicing: np.ndarray, below_peak_db: float, spec: FeatureSpec = VOICE_FEATURES):
    """Drop leading and trailing frames more than `below_peak_db` under the loudest frame (pauses, zero padding)."""
    a, b = trim_bounds(d[:, spec.n_mels + 3 * spec.n_mfcc], below_peak_db)  # energy_db column (see lld_names)
    return d[a:b], f0[a:b], voicing[a:b]


def trim_bounds(energy_db: np.ndarray, below_peak_db: float) -> tuple[int, int]:
    """First and one-past-last frame within `below_peak_db` of the loudest frame (all frames if none)."""
    keep = np.flatnonzero(energy_db >= energy_db.max() - below_peak_db) if len(energy_db) else energy_db
    if len(keep) == 0:
        return 0, len(energy_db)
    return int(keep[0]), int(keep[-1]) + 1


def frame_energy_db(x: np.ndarray, spec: FeatureSpec = VOICE_FEATURES) -> np.ndarray:
    """lld's energy column (the same arithmetic) without the rest of lld: what `trim` reads."""
    X = np.fft.rfft(frame(x, spec) * _window(spec), axis=1)
    power = (X.real ** 2 + X.imag ** 2).astype(np.float32)
    w2 = float((_window(spec) ** 2).sum()) * spec.n_fft
    return 10.0 * np.log10(np.maximum(power.sum(axis=1) / w2, spec.amin))


def _slope(y: np.ndarray) -> np.ndarray:
    """Least-squares slope per column against time in seconds-free units (frames / T)."""
    t = np.linspace(-0.5, 0.5, len(y), dtype=np.float32)
    return (t @ (y - y.mean(axis=0))) / max(float(t @ t), 1e-9)


def functionals(d: np.ndarray, f0: np.ndarray, voicing: np.ndarray, spec: FeatureSpec = VOICE_FEATURES) -> np.ndarray:
    """(T, n_lld) descriptors -> one fixed-length vector: FUNCTIONALS per column, then F0 statistics."""
    if len(d) < 2:
        raise ValueError(f"functionals need at least 2 frames ({spec.n_fft + spec.hop_length} samples), got {len(d)}")
    mean = d.mean(axis=0)
    c = d - mean
    var = (c ** 2).mean(axis=0)
    std = np.sqrt(var)
    safe = np.maximum(var, 1e-8)
    skew = (c ** 3).mean(axis=0) / safe ** 1.5
    kurt = (c ** 4).mean(axis=0) / safe ** 2 - 3.0
    pct = np.percentile(d, _PERCENTILES, axis=0)
    voiced = voicing >= spec.voicing_threshold
    if voiced.sum() >= 2:
        st = 12.0 * np.log2(f0[voiced] / 100.0)  # semitones re 100 Hz: pitch differences read the same for all voices
        f0f = [voiced.mean(), st.mean(), st.std(), *np.percentile(st, (5, 50, 95)), _slope(st[:, None])[0]]
    else:
        f0f = [voiced.mean(), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    out = np.concatenate([mean, std, skew, kurt, *pct, _slope(d), np.asarray(f0f, np.float32)])
    return out.astype(np.float32)


def feature_names(spec: FeatureSpec = VOICE_FEATURES) -> list[str]:
    """Names of the `functionals` vector, in order."""
    names = lld_names(spec)
    return [f"{n}_{f}" for f in FUNCTIONALS for n in names] + list(F0_FUNCTIONALS)


def segment_features(x: np.ndarray, spec: FeatureSpec = VOICE_FEATURES) -> np.ndarray:
    """Mono float samples at spec.sample_rate -> the functionals vector the voice model takes."""
    return functionals(*lld(x, spec), spec=spec)


def window_starts(n_frames: int, window: int, hop: int) -> list[int]:
    """Start frames of the windows over a segment: one window if it is short, the last one flush with its end."""
    if n_frames <= window:
        return [0]
    starts = list(range(0, n_frames - window + 1, hop))
    if starts[-1] != n_frames - window:
        starts.append(n_frames - window)
    return starts


def active_level_db(x: np.ndarray, spec: FeatureSpec = VOICE_FEATURES) -> float:
    """Speech level in dBFS: mean power of the hop-long blocks within ACTIVE_RANGE_DB of the loudest one.

    Pauses and the noise floor between words hardly move it (they are far under the loud blocks),
    so it reads the talker's level, like ITU-T P.56's active speech level.
    """
    n = spec.hop_length
    b = np.asarray(x, np.float64)[: len(x) // n * n].reshape(-1, n)
    if not len(b):
        return -100.0
    p = (b ** 2).mean(axis=1)
    loud = p[p >= p.max() * 10 ** (-ACTIVE_RANGE_DB / 10)]
    return float(10.0 * np.log10(max(loud.mean(), 1e-10)))


def normalise_level(x: np.ndarray, target_db: float, spec: FeatureSpec = VOICE_FEATURES) -> np.ndarray:
    """Scale x so its active speech level reads target_db: what the model sees does not depend on gain or distance."""
    gain = 10.0 ** ((target_db - active_level_db(x, spec)) / 20.0)
    return (np.asarray(x, np.float32) * np.float32(gain)).astype(np.float32)


def utterance_windows(x: np.ndarray, window_s: float, hop_s: float, trim_db: float,
                      spec: FeatureSpec = VOICE_FEATURES, level_db: float | None = None) -> np.ndarray:
    """Mono samples at spec.sample_rate -> (windows, features): functionals of each window over the trimmed speech.

    With `level_db`, the segment is first scaled to that active speech level (normalise_level).
    """
    if level_db is not None:
        x = normalise_level(x, level_db, spec)
    d, f0, v = trim(*lld(x, spec), trim_db, spec)
    window = int(round(window_s * spec.sample_rate / spec.hop_length))
    hop = int(round(hop_s * spec.sample_rate / spec.hop_length))
    return np.stack([functionals(d[s:s + window], f0[s:s + window], v[s:s + window], spec)
                     for s in window_starts(len(d), window, hop)])
