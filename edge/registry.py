"""Every plug-in of the device, one entry shape: inference backends, face detectors, publishers, text sources, channels.

The tables import nothing: the config's choices, the CLI's help, check-config and the tests read the names here,
and a plug-in's module (with its vendor library) is imported only when it is chosen (`load`). Adding a backend,
a detector, a publisher or a text source is its module plus one line below; a channel, one line in CHANNELS.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Dict, Sequence, Tuple


@dataclass(frozen=True)
class Entry:
    """One plug-in: `module.cls`, and what it needs."""

    name: str  # its key in the config (`models.backend`, `detect.detector`, `output.publisher`, `text.source`)
    module: str
    cls: str
    extra: str | None = None  # the pip package its module needs beyond the base install; None: always there
    formats: Tuple[str, ...] = ()  # model files it reads, by suffix (backends)
    model: str | None = None  # the bundled model file it loads, in edge/models/ (detectors)
    doc: str = ""  # a few words for config-doc and --help


def table(*entries: Entry) -> Dict[str, Entry]:
    """Entries by name, in the order given (the order of preference where there is one)."""
    return {e.name: e for e in entries}


# Order is the preference: the first installed backend that reads a model's format opens it.
BACKENDS = table(
    Entry("litert", "edge.backends.litert", "LiteRTBackend", "ai-edge-litert", (".tflite",)),
    Entry("tflite-runtime", "edge.backends.tflite_runtime", "TFLiteRuntimeBackend", "tflite-runtime", (".tflite",)),
    Entry("onnxruntime", "edge.backends.onnxruntime", "OnnxRuntimeBackend", "onnxruntime", (".onnx",)),
)
DETECTORS = table(
    Entry("blazeface", "edge.detect.blazeface", "BlazeFaceDetector", model="blazeface_short_range.tflite",
          doc="short range, faces within ~2 m"),
    Entry("blazeface-full", "edge.detect.blazeface", "BlazeFaceDetector", model="blazeface_full_range.tflite",
          doc="far faces"),
    Entry("haar", "edge.detect.haar", "HaarDetector", doc="OpenCV cascade"),
    Entry("mediapipe", "edge.detect.mediapipe_detector", "MediaPipeDetector", "mediapipe",
          model="blazeface_short_range.tflite", doc="needs the mediapipe package"),
)
PUBLISHERS = table(
    Entry("stdout", "edge.publish.stdout", "StdoutPublisher"),
    Entry("mqtt", "edge.publish.mqtt", "MqttPublisher", "paho-mqtt"),
)
TEXT_SOURCES = table(
    Entry("stdin", "edge.capture.text", "StdinTextSource", doc="one text per line"),
    Entry("mqtt", "edge.capture.text", "MqttTextSource", "paho-mqtt",
          doc="text.topic on the [mqtt] broker"),
)
# Order: the result's field order.
CHANNELS = table(
    Entry("face", "edge.channels.face", "FaceChannel"),
    Entry("voice", "edge.channels.voice", "VoiceChannel"),
    Entry("text", "edge.channels.text", "TextChannel"),
)


def names(entries: Dict[str, Entry]) -> Tuple[str, ...]:
    return tuple(entries)


def formats(entries: Dict[str, Entry]) -> Dict[str, Tuple[str, ...]]:
    """Model suffix -> the names that read it, in order (`.tflite` -> litert, tflite-runtime)."""
    out: Dict[str, Tuple[str, ...]] = {}
    for e in entries.values():
        for suffix in e.formats:
            out[suffix] = out.get(suffix, ()) + (e.name,)
    return out


def spoken(words: Sequence[str], last: str = "or") -> str:
    """'a, b, c or d', as help texts list choices."""
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def load(entries: Dict[str, Entry], name: str, kind: str, error: type[Exception], fix: str | None = None) -> type:
    """The class of entry `name`, imported only now; an unknown name or a missing library raises `error` naming the
    choices or the package and the fix (default: pip install the package)."""
    if name not in entries:
        raise error(f"unknown {kind} {name!r}; choose one of {', '.join(entries)}")
    e = entries[name]
    return import_class(kind, name, e.module, e.cls, e.extra, error, fix)


def import_class(kind: str, name: str, module: str, cls: str, package: str | None, error: type[Exception],
                 fix: str | None = None) -> type:
    """`module.cls`, imported only now; a missing library raises `error` naming the package and the fix."""
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as e:
        package = package or e.name
        raise error(f"{kind} {name!r} needs the package {package}: {fix or f'pip install {package}'} ({e})") from None
