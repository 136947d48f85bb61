"""What `run` checks before it opens a camera, and all that `check-config` checks: one list, one code path.

1. types, ranges and finite numbers: `edge.config`, when the TOML is read;
2. this module: the rules between keys and the files the config names (a video or WAV file that
   must exist and decode, model files with their sidecars, MQTT credentials and TLS files);
3. loading the models (the pipeline's constructor), each checked against its sidecar.

Every error names its key. A camera, a microphone or a missing package is not checked here: it
is hardware, not configuration, and `run` reports it with exit status 3 when it opens it.
"""

from __future__ import annotations

import stat
from pathlib import Path

from .capture import probe
from .config import Config, ConfigError
from .paths import BUNDLED, bundled_name, resolve_model
from .registry import BACKENDS, formats

MODEL_SUFFIXES = formats(BACKENDS)  # model suffix -> the backends that read it


def check(cfg: Config) -> None:
    """Raise ConfigError listing every problem found, each naming its key."""
    from .channels import channel_classes
    from .mqtt import settings as mqtt_settings

    specs = {cls.name: cls.source(cfg) for cls in channel_classes()}  # the channels' own reading of the sources
    video, audio, text = specs.get("face"), specs.get("voice"), specs.get("text")
    errors: list[str] = []
    if all(spec is None for spec in specs.values()):
        errors.append("video.source, audio.source and text.source are all 'none': nothing to do")
    if video is not None:
        errors += _video(video)
    if audio is not None:
        errors += _audio(audio)
    errors += _rules(cfg, specs)
    errors += _models(cfg, face=video is not None, voice=audio is not None, text=text is not None)
    if cfg.output.publisher == "mqtt" or text == "mqtt":  # texts from MQTT use the [mqtt] broker settings too
        errors += mqtt_settings.check(cfg.mqtt)
    if cfg.http.enabled:  # the page's token: required beyond the loopback, readable, long enough
        from .web.server import read_token

        try:
            read_token(cfg.http)
        except ConfigError as e:
            errors += e.errors
    if errors:
        raise ConfigError(errors)


def _rules(cfg: Config, specs: dict) -> list[str]:
    """Values each fine on its own that together leave a channel or the fused estimate with nothing, ever."""
    errors = []
    on = [name for name, spec in specs.items() if spec is not None]
    weights = {f"fusion.{name}_weight": getattr(cfg.fusion, f"{name}_weight", None) for name in on}
    if weights and all(w == 0 for w in weights.values()):  # the fused estimate would be null in every result
        errors.append(f"{' and '.join(f'{k} = {w:g}' for k, w in weights.items())}: every channel that is on has "
                      "weight 0, so `fused.emotion` is always null; give at least one a weight above 0")
    a = cfg.audio
    if specs.get("voice") is not None and a.min_speech_s > a.max_utterance_s:  # no utterance is ever long enough
        errors.append(f"audio.min_speech_s = {a.min_speech_s:g} is more than audio.max_utterance_s = "
                      f"{a.max_utterance_s:g}: an utterance is cut before it is long enough, so no voice result "
                      "ever comes; lower min_speech_s or raise max_utterance_s")
    return errors


def check_models(cfg: Config, face: bool = True, voice: bool = True, text: bool = False) -> None:
    """The model files `infer` needs: present, readable by the chosen backend, described by a matching sidecar."""
    errors = _models(cfg, face, voice, text)
    if errors:
        raise ConfigError(errors)


def _models(cfg: Config, face: bool, voice: bool, text: bool = False) -> list[str]:
    m = cfg.models
    return ((_model("models.face", m.face, "face", m.backend) if face else []) +
            (_model("models.voice", m.voice, "voice", m.backend) if voice else []) +
            (_model("models.text", m.text, "text", m.backend) if text else []))


def _file(key: str, spec: str) -> tuple[Path | None, list[str]]:
    """(path, []) for an existing readable file or FIFO, else (None, [error])."""
    p = Path(spec).expanduser()
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        return None, [f"{key} = {spec!r}: no such file"]
    except OSError as e:
        return None, [f"{key} = {spec!r}: cannot read it ({e.strerror or e})"]
    if stat.S_ISDIR(mode):
        return None, [f"{key} = {spec!r}: is a folder, not a file"]
    try:
        if stat.S_ISREG(mode):
            with open(p, "rb"):
                pass
    except OSError as e:
        return None, [f"{key} = {spec!r}: cannot read it ({e.strerror or e})"]
    return p, []


def _video(spec: str) -> list[str]:
    from .capture.video import URL_SCHEMES, source_kind

    kind = source_kind(spec)
    if kind == "url":
        scheme = spec.split("://", 1)[0].lower()
        if scheme not in URL_SCHEMES:
            return [f"video.source = {spec!r}: unsupported URL scheme {scheme!r} (use {', '.join(URL_SCHEMES)})"]
        return []
    if kind != "file":
        return []  # a camera, a pipeline or a keyword: opened (or reported, exit 3) by `run`
    path, errors = _file("video.source", spec)
    if path is None or not path.is_file():
        return errors  # a FIFO is read as a stream: nothing to look at before a writer appears
    try:
        found = probe.sniff(path)
    except probe.ProbeError as e:
        return [f"video.source = {spec!r}: {e}"]
    if found.kind == probe.AUDIO:
        return [f"video.source = {spec!r}: {found.format} audio, not a video (put it in audio.source)"]
    return _first_frame(spec, path)


def _first_frame(spec: str, path: Path) -> list[str]:
    """A video file must hold at least one decodable frame of a size within the pixel limit."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return [f"video.source = {spec!r}: not a video OpenCV can open (damaged, or a codec it lacks)"]
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if w * h > probe.MAX_IMAGE_PIXELS:
            return [f"video.source = {spec!r}: frames of {w}x{h} pixels, more than the "
                    f"{probe.MAX_IMAGE_PIXELS / 1e6:.0f} MP limit (memory)"]
        if not cap.read()[0]:
            return [f"video.source = {spec!r}: no decodable frame (damaged, or a codec OpenCV lacks)"]
    finally:
        cap.release()
    return []


def _audio(spec: str) -> list[str]:
    from .audio.wav import WavError, probe_wav

    if spec == "mic":
        return []  # hardware: opened (or reported, exit 3) by `run`
    path, errors = _file("audio.source", spec)
    if path is None:
        return errors
    if not path.is_file():
        return [f"audio.source = {spec!r}: not a regular file (a FIFO or device); give a WAV file or 'mic'"]
    try:
        found = probe.sniff(path)
        if found.kind != probe.AUDIO:
            return [f"audio.source = {spec!r}: {found.format} {found.kind}, not a WAV file"]
        probe_wav(path)
    except (probe.ProbeError, WavError) as e:
        return [f"audio.source = {spec!r}: {str(e).replace(str(path) + ': ', '')}"]
    return []


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
    vocabulary = d.preprocess.get("vocabulary") if task == "text" else None
    if vocabulary and not (path.parent / vocabulary).is_file():
        return [f"{name}: its vocabulary {vocabulary} is not beside it (copy the model, its .json and "
                f"{vocabulary} together)"]
    from .classify.model import check_model_file  # the sidecar against the model's real tensors (issue 22)

    return [f"{name}: {e}" for e in check_model_file(path, None if backend == "auto" else backend)]
