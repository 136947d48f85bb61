"""The description each model artifact carries in its sidecar `<file>.json`.

The quantize step writes it from the converted model itself; the runtime reads
it and never re-states labels, shapes, quantization or preprocessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "edge-emotion/model/1"
REQUIRED = ("schema", "name", "task", "version", "format", "precision", "labels", "input", "output", "preprocess")
TASKS = ("face", "voice", "text", "face-detection")
CLASSIFIERS = ("face", "voice", "text")  # tasks whose output is one score per label
COLOR_CHANNELS = {"gray": 1, "rgb": 3}  # preprocess.color -> colour channels of the input (edge/classify/face_preprocess.py)


class DescriptionError(ValueError):
    """A model description is missing, unreadable or incomplete."""


def description_path(model_path: str | Path) -> Path:
    """Sidecar path of a model file: `face_int8.tflite` -> `face_int8.tflite.json`."""
    p = Path(model_path)
    return p.with_name(p.name + ".json")


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: str
    scale: float = 0.0  # 0.0 means not quantized
    zero_point: int = 0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TensorSpec":
        q = d.get("quantization") or {}
        return cls(tuple(int(s) for s in d["shape"]), str(d["dtype"]), float(q.get("scale", 0.0)), int(q.get("zero_point", 0)))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"shape": list(self.shape), "dtype": self.dtype}
        if self.scale:
            d["quantization"] = {"scale": self.scale, "zero_point": self.zero_point}
        return d


@dataclass(frozen=True)
class ModelDescription:
    name: str
    task: str
    version: str
    format: str
    precision: str
    labels: tuple[str, ...]
    input: TensorSpec
    output: TensorSpec
    preprocess: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<dict>") -> "ModelDescription":
        missing = [k for k in REQUIRED if k not in d]
        if missing:
            raise DescriptionError(f"{source}: description lacks {', '.join(missing)}")
        if d["schema"] != SCHEMA:
            raise DescriptionError(f"{source}: schema {d['schema']!r} is not {SCHEMA!r}; re-run `edge-convert quantize`")
        if d["task"] not in TASKS:
            raise DescriptionError(f"{source}: task {d['task']!r} is not one of {', '.join(TASKS)}")
        return cls(
            name=d["name"], task=d["task"], version=str(d["version"]), format=d["format"], precision=d["precision"],
            labels=tuple(d["labels"]), input=TensorSpec.from_dict(d["input"]), output=TensorSpec.from_dict(d["output"]),
            preprocess=dict(d["preprocess"]), raw=d,
        )

    @classmethod
    def load(cls, model_path: str | Path) -> "ModelDescription":
        path = description_path(model_path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError:
            raise DescriptionError(f"{path}: no description next to {Path(model_path).name}; "
                                   "every model needs its sidecar from `edge-convert quantize`") from None
        except (OSError, json.JSONDecodeError) as e:
            raise DescriptionError(f"{path}: unreadable description ({e})") from None
        return cls.from_dict(d, str(path))


def mismatches(d: ModelDescription, inp, out) -> list[str]:
    """Where the sidecar disagrees with the model's real input and output tensors (`inp`, `out`: shape, dtype).

    Each entry names the sidecar's figure and the model's. The batch dimension is left out: a runtime reports a
    dynamic batch as 1, and batches are resized per call.
    """
    errors = []
    model_in, side_in = tuple(int(s) for s in inp.shape), tuple(d.input.shape)
    if model_in[1:] != side_in[1:]:
        errors.append(f"sidecar input shape {list(side_in)}, the model's input is {list(model_in)}")
    dtype = getattr(inp.dtype, "name", str(inp.dtype))
    if dtype != d.input.dtype:
        errors.append(f"sidecar input dtype {d.input.dtype}, the model's input is {dtype}")
    if d.task in CLASSIFIERS:
        n = int(out.shape[-1]) if len(out.shape) else 1
        if n != len(d.labels):
            errors.append(f"sidecar lists {len(d.labels)} labels, the model outputs {n} scores "
                          "(labels must be the output's, in its order)")
        shift = (d.raw.get("calibration") or {}).get("prior_shift")
        if shift is not None and len(shift) != len(d.labels):
            errors.append(f"calibration.prior_shift has {len(shift)} values for {len(d.labels)} labels "
                          "(re-run calibrate-face, or remove it)")
    return errors + _preprocess_mismatches(d, model_in)


def _preprocess_mismatches(d: ModelDescription, shape: tuple[int, ...]) -> list[str]:
    """The preprocessing fields against the input they feed: face size and colour, feature or vocabulary size."""
    pre, errors = d.preprocess, []
    if d.task == "face" and len(shape) == 4:
        nchw = pre.get("layout") == "nchw"
        hw, c = (shape[2:4], shape[1]) if nchw else (shape[1:3], shape[3])
        size = pre.get("size")
        if size is not None and tuple(int(v) for v in size) != tuple(hw):
            errors.append(f"preprocess.size {list(size)} (height, width), the model's input is {hw[0]}x{hw[1]}")
        color = pre.get("color", "gray")
        if color not in COLOR_CHANNELS:
            errors.append(f"preprocess.color {color!r} is not one of {', '.join(COLOR_CHANNELS)}")
        elif COLOR_CHANNELS[color] != c:
            errors.append(f"preprocess.color {color!r} gives {COLOR_CHANNELS[color]} channel(s), "
                          f"the model's input has {c}")
        for key in ("scale", "offset"):  # one number, or one per channel
            v = pre.get(key)
            if isinstance(v, list) and len(v) != c:
                errors.append(f"preprocess.{key} has {len(v)} values, the model's input has {c} channel(s)")
    if d.task == "voice":  # a waveform or log-mel front end: its window against the input (edge/audio/frontend.py)
        from .audio.frontend import mismatches as front_end_mismatches

        errors += front_end_mismatches(pre, shape)
    for key in ("n_features", "size") if d.task in ("voice", "text") else ():
        want = pre.get(key)
        if isinstance(want, int) and len(shape) == 2 and want != shape[-1]:
            errors.append(f"preprocess.{key} {want}, the model's input has {shape[-1]} values")
    return errors
