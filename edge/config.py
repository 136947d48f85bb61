"""Typed configuration: one TOML file, one dataclass per section, validated once at start-up.

Every field has a default and a one-line description (the `doc` metadata). Unknown keys,
wrong types and bad values are reported with their key path, the value and the reason.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import threading
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List

from .registry import BACKENDS, DETECTORS, PUBLISHERS, TEXT_SOURCES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def opt(default: Any, doc: str, choices: tuple | None = None, min: float | None = None, max: float | None = None,
        secret: bool = False):
    """A config field: its default, a one-line description, and optional checks; a secret never shows in repr()."""
    meta = {"doc": doc, "choices": choices, "min": min, "max": max}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta, repr=not secret)
    return field(default=default, metadata=meta, repr=not secret)


@dataclass
class VideoConfig:
    source: str = opt("sample", "camera index, /dev/videoN, video file, rtsp:// or http:// URL, GStreamer pipeline "
                                "(contains '!'), 'picamera2', 'sample' (bundled demo clip) or 'none'")
    width: int = opt(640, "requested capture width in pixels (cameras only)", min=16, max=8192)
    height: int = opt(480, "requested capture height in pixels (cameras only)", min=16, max=8192)
    capture_fps: float = opt(30.0, "requested camera frame rate (cameras only)", min=1, max=1000)
    realtime: bool = opt(True, "play files at their own frame rate, dropping frames the loop cannot keep up with; "
                               "false processes every frame of a file")
    loop: bool = opt(False, "restart a file source when it ends (demo kiosks)")
    reconnect_max_s: float = opt(30.0, "longest wait between attempts to reopen a lost camera", min=0.1, max=3600)
    open_timeout_s: float = opt(10.0, "a source that has not opened after this long is unavailable (exit 3); "
                                      "also the connect timeout of rtsp:// and http:// streams", min=0.5, max=600)
    read_timeout_s: float = opt(5.0, "an rtsp:// or http:// stream that sends no frame for this long is lost "
                                     "and reopened", min=0.5, max=600)


@dataclass
class AudioConfig:
    source: str = opt("sample", "'mic' (pyaudio), a WAV file path, 'sample' (bundled demo clip) or 'none'")
    device: str = opt("", "microphone: pyaudio device index or part of its name; empty for the default device")
    sample_rate: int = opt(16000, "microphone capture rate in Hz; audio is resampled to the model's rate",
                           min=8000, max=192000)
    buffer_s: float = opt(10.0, "length of the audio ring buffer in seconds", min=1, max=600)
    margin_db: float = opt(12.0, "speech is this many dB over the tracked noise floor (speech band, 30 ms levels)",
                           min=3, max=40)
    min_level_db: float = opt(-80.0, "sound quieter than this (dBFS, speech band) is 'too quiet' whatever the floor",
                              min=-120, max=0)
    floor_rise_db_s: float = opt(3.0, "how fast the noise-floor estimate follows a room that gets louder (dB/s)",
                                 min=0.1, max=100)
    adapt: bool = opt(False, "voice: adapt the feature normalisation to the voices heard (running statistics); "
                             "false judges each utterance on its own, as the model was trained")
    min_speech_s: float = opt(0.5, "shortest speech segment that gets a voice emotion", min=0, max=60)
    # At most 30 s: features of one utterance take ~3.6 MB per second of audio (benchmarks/reports/input_memory.md).
    max_utterance_s: float = opt(8.0, "an utterance longer than this is reported and restarted", min=0.5, max=30)
    end_silence_s: float = opt(0.4, "silence that ends an utterance", min=0.05, max=10)


@dataclass
class TextConfig:
    source: str = opt("none", "'none', 'stdin' (one text per line) or 'mqtt' (texts published to text.topic on the "
                              "[mqtt] broker)", choices=("none",) + tuple(TEXT_SOURCES))
    topic: str = opt("hermes/asr/textCaptured", "MQTT topic to subscribe to: JSON with a `text` field (Rhasspy/Hermes "
                                                "textCaptured) or plain UTF-8 text")
    qos: int = opt(1, "QoS of the text subscription", min=0, max=2)
    max_chars: int = opt(2000, "longer texts are cut to this many characters (the result says truncated); a line or "
                               "payload is first cut to max(64 kB, 12 bytes a character) as it arrives", min=1,
                         max=100000)
    queue_size: int = opt(100, "texts waiting to be classified (and at most 8 MB of them); when full the oldest are "
                               "dropped, counted and logged", min=1,
                          max=100000)
    context: float = opt(0.0, "weight of the previous text of the conversation (same source, younger than "
                              "fusion.text_max_age_s) mixed into each text's probabilities; 0: off", min=0, max=0.9)


@dataclass
class DetectConfig:
    detector: str = opt("blazeface", "face detector: " + ", ".join(f"{e.name} ({e.doc})" for e in DETECTORS.values()),
                        choices=tuple(DETECTORS))
    min_score: float = opt(0.5, "minimum detection confidence", min=0, max=1)
    max_faces: int = opt(4, "at most this many faces (largest first) are classified per frame", min=1, max=64)
    min_face_px: int = opt(24, "ignore faces smaller than this many pixels across", min=1, max=8192)


@dataclass
class ModelsConfig:
    face: str = opt("", "face model: a bundled one by name (face: version 3, the default; face_v2: version 2, less "
                        "than half the cost; face_large: version 1, about 8x the cost) or a .tflite/.onnx file with its "
                        "sidecar .json beside it")
    face_prior: str = opt("natural", "class prior of the face probabilities: natural (a room's mix, mostly neutral and "
                                     "happy: the shift in the model's sidecar, fitted on FER2013 PublicTest) or training "
                                     "(FER2013's own mix, as PrivateTest measures it)", choices=("natural", "training"))
    face_mirror: bool = opt(False, "also classify each face's mirror image and average the two (twice the face "
                                   "model's cost; see FACE_MODEL_CARD.md for what it earns)")
    voice: str = opt("", "voice model: the bundled one by name (voice, the default) or a .tflite/.onnx file with its "
                         "sidecar .json beside it")
    text: str = opt("", "text model: the bundled one by name (text, the default) or a .tflite/.onnx file with its "
                        "sidecar .json and vocabulary beside it")
    backend: str = opt("auto", "inference backend; a bundled model name follows it (onnxruntime: the .onnx twin)",
                       choices=("auto",) + tuple(BACKENDS))
    threads: int = opt(1, "threads per model", min=1, max=64)
    # typing.List, not list[str]: _build resolves these hints at run time, and Python 3.8 cannot subscript list.
    providers: List[str] = opt(["CPUExecutionProvider"], "onnxruntime execution providers, in order "
                                                         "(e.g. TensorrtExecutionProvider, CUDAExecutionProvider)")


@dataclass
class FusionConfig:
    face_weight: float = opt(0.5, "weight of the face probabilities", min=0, max=1000)
    voice_weight: float = opt(0.3, "weight of the voice probabilities", min=0, max=1000)
    text_weight: float = opt(0.2, "weight of a text source's probabilities when one exists", min=0, max=1000)
    smoothing: float = opt(0.6, "exponential smoothing factor for the fused estimate: share of the previous "
                                "estimate kept each step (0 = no smoothing)", min=0, max=0.99)
    voice_max_age_s: float = opt(3.0, "a voice result older than this stops counting", min=0, max=3600)
    text_max_age_s: float = opt(10.0, "a text result older than this stops counting", min=0, max=3600)


@dataclass
class TrackConfig:
    follow: str = opt("longest", "the face `fused` follows: longest (seen the longest; kept until that person leaves), "
                                 "largest (the nearest; hands over to a face 1.5x larger) or centre (the most central; "
                                 "hands over to one 20 % of the half diagonal closer)",
                      choices=("longest", "largest", "centre"))
    max_missed_s: float = opt(2.0, "a face unseen for longer than this ends its track (the `end` event); back later, "
                                   "it gets a new id", min=0, max=60)
    max_distance: float = opt(2.0, "farthest a face may move between two looks, in face widths, and keep its id",
                              min=0.1, max=20)
    iou_min: float = opt(0.1, "box overlap with the predicted box that matches a face whatever the distance",
                         min=0, max=1)
    min_hits: int = opt(3, "frames a face must be seen before its track counts (the `new` event; fused follows it)",
                        min=1, max=100)
    smoothing: float = opt(0.6, "exponential smoothing of each face's probabilities: share of the previous estimate "
                                "kept each frame (0 = none)", min=0, max=0.99)


@dataclass
class EventsConfig:
    min_duration_s: float = opt(2.0, "a face's emotion must hold this long before an `update` event reports the "
                                     "change (no flicker on dashboards)", min=0, max=3600)
    stdout: bool = opt(False, "also write events as JSON lines on stdout (publisher stdout)")


@dataclass
class OutputConfig:
    publisher: str = opt("stdout", "where results go", choices=tuple(PUBLISHERS))
    fps: float = opt(0.0, "cap on processed frames per second (0 = as fast as possible)", min=0, max=1000)
    stats_interval_s: float = opt(30.0, "seconds between health reports", min=1, max=86400)


@dataclass
class MqttConfig:
    host: str = opt("localhost", "broker host name or address")
    port: int = opt(1883, "broker port (8883 is usual for TLS)", min=1, max=65535)
    protocol: str = opt("3.1.1", "MQTT protocol version", choices=("3.1.1", "5"))
    client_id: str = opt("", "MQTT client id; empty: edge-emotion-<device_id>")
    device_id: str = opt("", "device name in topics; empty: '<host name>-<8 hex digits>', the digits a hash of "
                             "/etc/machine-id (stable across reboots, distinct for devices of one host name)")
    prefix: str = opt("edge-emotion", "topic prefix: topics are <prefix>/<device_id>/{status,emotion,state,stats,"
                                      "events}")
    username: str = opt("", "user name for the broker")
    password: str = opt("", "password (prefer password_env or password_file; never logged)", secret=True)
    password_env: str = opt("", "environment variable holding the password")
    password_file: str = opt("", "file holding the password; a relative path is looked up in $CREDENTIALS_DIRECTORY "
                                 "when systemd's LoadCredential= sets it")
    tls: bool = opt(False, "connect with TLS")
    ca_file: str = opt("", "CA certificate file for TLS; empty: the system's CA store")
    cert_file: str = opt("", "client certificate for TLS (optional)")
    key_file: str = opt("", "client key for TLS (optional; empty: the key is in cert_file)")
    keepalive_s: int = opt(30, "MQTT keepalive in seconds", min=5, max=65535)  # a 16-bit field in CONNECT
    qos_emotion: int = opt(1, "QoS of the emotion topic (1: results queued during an outage are not lost)",
                           min=0, max=2)
    qos_state: int = opt(1, "QoS of the retained state topic", min=0, max=2)
    qos_status: int = opt(1, "QoS of the retained status topic and the last will", min=0, max=2)
    qos_stats: int = opt(0, "QoS of the stats topic", min=0, max=2)
    qos_events: int = opt(1, "QoS of the events topic (new / update / end per tracked face)", min=0, max=2)
    retain_emotion: bool = opt(False, "retain the emotion topic")
    state_confidence_step: float = opt(0.1, "also re-publish state when the fused confidence moved this much "
                                            "(0: only when the emotion changes)", min=0, max=1)
    queue_size: int = opt(1000, "results kept while disconnected; when full the oldest are dropped and counted",
                          min=1, max=100000)  # 100000 results of ~1.5 kB: 150 MB, the most a 2 GB board can spare
    max_payload_bytes: int = opt(65536, "larger payloads are reported and dropped (0: no limit); keep it at or below the "
                                        "broker's message_size_limit (MQTT 5 also learns its maximum packet size)",
                                 min=0, max=268435455)  # MQTT's largest packet
    reconnect_min_s: float = opt(1.0, "first reconnect delay; it doubles up to reconnect_max_s", min=0.1, max=3600)
    reconnect_max_s: float = opt(30.0, "longest reconnect delay", min=0.1, max=3600)
    discovery: bool = opt(False, "publish Home Assistant MQTT discovery messages")
    discovery_prefix: str = opt("homeassistant", "Home Assistant discovery prefix")


@dataclass
class HttpConfig:
    enabled: bool = opt(False, "serve the live page (/), /stream.mjpg, /api/latest, /metrics and /healthz")
    host: str = opt("127.0.0.1", "address to listen on; 127.0.0.1 keeps the page on this machine (an SSH tunnel "
                                 "reaches it), 0.0.0.0 opens it to the network and then needs a token")
    port: int = opt(8080, "TCP port of the page", min=1, max=65535)
    token: str = opt("", "access token (at least 16 characters; prefer token_file or token_env)", secret=True)
    token_env: str = opt("", "environment variable holding the access token")
    token_file: str = opt("", "file holding the access token; a relative path is looked up in "
                              "$CREDENTIALS_DIRECTORY (systemd's LoadCredential=)")
    stream: bool = opt(True, "serve the camera picture (/stream.mjpg); false is the privacy mode: boxes, emotions "
                             "and metrics only, no image ever leaves the device")
    stream_fps: float = opt(5.0, "most pictures per second sent to viewers (each costs one JPEG encode)",
                            min=0.1, max=30)
    stream_width: int = opt(640, "wider frames are scaled down to this before encoding", min=64, max=8192)
    jpeg_quality: int = opt(70, "JPEG quality of the stream (1-100)", min=1, max=100)
    max_clients: int = opt(8, "connections served at once (one thread each); more are answered 503", min=2, max=64)
    max_streams: int = opt(2, "viewers of /stream.mjpg at once", min=1, max=16)
    timeline_s: float = opt(300.0, "length of the fused-emotion timeline the page shows, in seconds", min=10,
                            max=86400)


@dataclass
class ServiceConfig:
    watchdog: bool = opt(True, "ping the systemd watchdog while frames or audio windows are being processed")
    log_level: str = opt("info", "logging level", choices=("debug", "info", "warning", "error"))


@dataclass
class Config:
    video: VideoConfig = field(default_factory=VideoConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    text: TextConfig = field(default_factory=TextConfig)
    detect: DetectConfig = field(default_factory=DetectConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    track: TrackConfig = field(default_factory=TrackConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)


class ConfigError(ValueError):
    """One or more configuration errors, each naming its key path."""

    def __init__(self, errors: list[str], source: str = "config") -> None:
        self.errors = errors
        self.source = source  # the file (or "command line", "config") the errors are about
        super().__init__(f"{source}: " + "; ".join(errors))


def _check(path: str, value: Any, tp: Any, f: dataclasses.Field) -> tuple[Any, str | None]:
    origin = typing.get_origin(tp)
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list) or not all(isinstance(v, inner) for v in value):
            return None, f"{path} = {value!r}: expected a list of {inner.__name__}"
        return list(value), None
    if tp is bool:
        if not isinstance(value, bool):
            return None, f"{path} = {value!r}: expected true or false"
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"{path} = {value!r}: expected an integer"
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, f"{path} = {value!r}: expected a number"
        if not math.isfinite(value):  # TOML has inf and nan; either would reach the JSON output or a sleep
            return None, f"{path} = {value!r}: expected a finite number"
        value = float(value)
    elif tp is str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return None, f"{path} = {value!r}: expected a string"
        value = str(value)
        if "\0" in value:  # no file name, URL or topic may hold one; os and OpenCV calls would raise
            return None, f"{path} = {value!r}: contains a NUL character"
    m = f.metadata
    if m.get("choices") and value not in m["choices"]:
        return None, f"{path} = {value!r}: must be one of {', '.join(map(str, m['choices']))}"
    if m.get("min") is not None and value < m["min"]:
        return None, f"{path} = {value!r}: must be at least {m['min']}"
    if m.get("max") is not None and value > m["max"]:
        return None, f"{path} = {value!r}: must be at most {m['max']}"
    return value, None


def _build(cls: type, data: Any, path: str, errors: list[str]) -> Any:
    obj = cls()
    if not isinstance(data, dict):
        errors.append(f"{path or 'top level'}: expected a table, got {data!r}")
        return obj
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in data.items():
        key_path = f"{path}.{key}" if path else key
        if key not in fields:
            errors.append(f"{key_path}: unknown key (known: {', '.join(fields)})")
            continue
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            setattr(obj, key, _build(tp, value, key_path, errors))
            continue
        checked, err = _check(key_path, value, tp, fields[key])
        if err:
            errors.append(err)
        else:
            setattr(obj, key, checked)
    return obj


def from_dict(data: dict[str, Any], source: str = "config") -> Config:
    errors: list[str] = []
    cfg = _build(Config, data, "", errors)
    if errors:
        raise ConfigError(errors, source)
    return cfg


def load(path: str | Path | None) -> Config:
    """Read and validate a TOML file; None gives the defaults."""
    if path is None:
        return Config()
    p = Path(path)
    try:
        data = tomllib.loads(_read(p).decode("utf-8"))  # TOML is UTF-8 whatever the locale says
    except FileNotFoundError:
        raise ConfigError([f"file not found (create it from systemd/edge-emotion.toml)"], str(p)) from None
    except IsADirectoryError:
        raise ConfigError(["is a folder, not a file (give the TOML file itself)"], str(p)) from None
    except PermissionError:
        raise ConfigError(["cannot read it (permission denied): let the user edge-emotion runs as read it, e.g. "
                           f"chmod 644 {p}"], str(p)) from None
    except OSError as e:
        raise ConfigError([f"cannot read it ({e.strerror or e})"], str(p)) from None
    except UnicodeDecodeError as e:
        raise ConfigError([f"not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); TOML files are "
                           f"UTF-8: convert it, e.g. iconv -f latin1 -t utf-8"], str(p)) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"not valid TOML: {e}"], str(p)) from None
    return from_dict(data, str(p))


PIPE_READ_TIMEOUT_S = 5.0  # a config from a pipe (`--config <(...)`) comes at once; a FIFO nobody writes never does


def _read(p: Path) -> bytes:
    """A config file's bytes; one that is not a regular file (process substitution, a FIFO) within a time limit."""
    if not p.exists() or p.is_file() or p.is_dir():
        return p.read_bytes()
    box: dict = {}

    def read() -> None:
        try:
            box["data"] = p.read_bytes()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["error"] = e

    t = threading.Thread(target=read, name="read config", daemon=True)  # a FIFO's open blocks until a writer comes
    t.start()
    t.join(PIPE_READ_TIMEOUT_S)
    if "error" in box:
        raise box["error"]
    if "data" not in box:
        raise ConfigError([f"not a regular file, and nothing came from it within {PIPE_READ_TIMEOUT_S:g} s (a FIFO "
                           "without a writer?); give the TOML file itself"], str(p))
    return box["data"]


def override(cfg: Config, dotted: dict[str, Any]) -> Config:
    """Apply command-line overrides given as {'section.key': value}, validated like the file."""
    data = dataclasses.asdict(cfg)
    for key, value in dotted.items():
        section, _, name = key.partition(".")
        data.setdefault(section, {})[name] = value
    return from_dict(data, "command line")


def describe() -> str:
    """Every key with its default and description, as commented TOML."""
    lines = []
    for sec in dataclasses.fields(Config):
        lines.append(f"[{sec.name}]")
        for f in dataclasses.fields(sec.default_factory):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            lines.append(f"# {f.metadata['doc']}")
            lines.append(f"{f.name} = {_toml(default)}")
        lines.append("")
    return "\n".join(lines)


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(v)
