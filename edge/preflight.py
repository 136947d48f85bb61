"""What `run` checks before it opens a camera, and all that `check-config` checks: one list, one code path.

1. types, ranges and finite numbers: `edge.config`, when the TOML is read;
2. this module, looping over the channels: each channel's own `check` (its source file must exist and
   decode, the rules between its keys), the model files with their sidecars, the fusion weights, the
   publisher's MQTT credentials and TLS files, the live page's token;
3. loading the models (the pipeline's constructor), each checked against its sidecar.

Every error names its key. A camera, a microphone or a missing package is not checked here: it
is hardware, not configuration, and `run` reports it with exit status 3 when it opens it.
"""

from __future__ import annotations

from .config import Config, ConfigError
from .paths import BUNDLED, bundled_name, resolve_model
from .registry import BACKENDS, formats

MODEL_SUFFIXES = formats(BACKENDS)  # model suffix -> the backends that read it


def check(cfg: Config) -> None:
    """Raise ConfigError listing every problem found, each naming its key."""
    from .channels import channel_classes
    from .mqtt import settings as mqtt_settings

    classes = channel_classes()
    specs = {cls.name: cls.source(cfg) for cls in classes}  # the channels' own reading of their sources
    on = [cls for cls in classes if specs[cls.name] is not None]
    errors: list[str] = []
    if not on:
        errors.append(nothing_to_do(classes))
    for cls in on:  # each channel's source and its own rules
        errors += cls.check(cfg, specs[cls.name])
    errors += _weights(cfg, [cls.name for cls in on])
    errors += _models(cfg, on)
    if cfg.output.publisher == "mqtt":
        errors += mqtt_settings.check(cfg.mqtt)
    if cfg.http.enabled:  # the page's token: required beyond the loopback, readable, long enough
        from .web.server import read_token

        try:
            read_token(cfg.http)
        except ConfigError as e:
            errors += e.errors
    if errors:
        raise ConfigError(list(dict.fromkeys(errors)))  # a section two parts use (texts and results on MQTT): once


def nothing_to_do(classes) -> str:
    """The error of a config that turns every channel off."""
    from .registry import spoken

    return f"{spoken([cls.source_key for cls in classes], 'and')} are all 'none': nothing to do"


def _weights(cfg: Config, on: list[str]) -> list[str]:
    """Weights each fine on their own that together leave the fused estimate with nothing, ever."""
    weights = {f"fusion.{name}_weight": getattr(cfg.fusion, f"{name}_weight", None) for name in on}
    if weights and all(w == 0 for w in weights.values()):  # the fused estimate would be null in every result
        return [f"{' and '.join(f'{k} = {w:g}' for k, w in weights.items())}: every channel that is on has "
                "weight 0, so `fused.emotion` is always null; give at least one a weight above 0"]
    return []


def check_models(cfg: Config, classes) -> None:
    """The model files of these channels (`infer`'s): present, readable by the chosen backend, described by a
    matching sidecar."""
    errors = _models(cfg, classes)
    if errors:
        raise ConfigError(errors)


def _models(cfg: Config, classes) -> list[str]:
    m = cfg.models
    return [e for cls in classes if cls.task
            for e in _model(f"models.{cls.task}", getattr(m, cls.task), cls.task, m.backend)]


def _model(key: str, configured: str, task: str, backend: str) -> list[str]:
    """The model file exists, a backend can read its format, and its sidecar describes a `task` model."""
    from .description import DescriptionError, ModelDescription, description_path

    path = resolve_model(task, configured, None if backend == "auto" else backend)
    bundled = bundled_name(task, configured) is not None
    name = f"{key} = {configured!r}" if configured else f"{key} (empty)"
    name += f" (the bundled {path.name})" if bundled else ""
    if not path.is_file():
        fix = ("; reinstall edge-emotion" if bundled else
               f"; give a .tflite or .onnx file, or a bundled name: {', '.join(BUNDLED[task])}")
        return [f"{name}: file not found{fix}"]
    if path.suffix not in MODEL_SUFFIXES:
        return [f"{name}: not a model file (use a .tflite or .onnx model from `edge-convert quantize`)"]
    if backend != "auto" and backend not in MODEL_SUFFIXES[path.suffix]:
        twin = [s for s, readers in MODEL_SUFFIXES.items() if backend in readers][0]
        return [f"models.backend = {backend!r} cannot read {path.suffix} models like {path.name} given as {key} "
                f"(use {' or '.join(MODEL_SUFFIXES[path.suffix])}, or 'auto'; or set {key} to its {twin} twin, or "
                f"to a bundled name, which follows the backend)"]
    try:
        d = ModelDescription.load(path)
    except DescriptionError as e:
        return [f"{name}: {e}"]
    if d.task != task:
        return [f"{name}: {description_path(path).name} describes a {d.task} model, not a {task} model"]
    vocabulary = d.preprocess.get("vocabulary")  # a text model's: its words, in a file beside it
    if vocabulary and not (path.parent / vocabulary).is_file():
        return [f"{name}: its vocabulary {vocabulary} is not beside it (copy the model, its .json and "
                f"{vocabulary} together)"]
    from .classify.model import check_model_file  # the sidecar against the model's real tensors (issue 22)

    return [f"{name}: {e}" for e in check_model_file(path, None if backend == "auto" else backend)]
