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
