"""Adversarial corpus, configs: `check-config` refuses exactly what `run` refuses, naming the key, with exit 2
(configuration) or 3 (a package this machine lacks); never a traceback, never exit 1, never a hang.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import threading

import pytest

import corpus_files as cf
from corpus_run import outcome
from edge import cli
from edge.paths import FACE_MODEL, VOICE_MODEL

ROOT = cf.ROOT
CASE_TIMEOUT_S = 60


def _files(d):
    """The files the configs below name (made once)."""
    f = {"dir": d, "fifo": cf.fifo(d / "pipe"), "folder": d / "folder"}
    f["folder"].mkdir()
    f["mp3"] = cf.write(d / "song.mp3", b"ID3\x03\0\0\0\0\0\0" + b"\xff\xfb\x90\0" * 64)
    f["wav_1hz"] = cf.write(d / "1hz.wav", cf.riff(cf.fmt_chunk(rate=1), cf.data_chunk(b"\0" * 200)))
    f["wav"] = cf.write(d / "speech.wav", cf.SPEECH.read_bytes())
    f["jpg"] = cf.write(d / "photo.jpg", sorted(cf.PHOTOS.glob("*"))[0].read_bytes())
    f["text_mp4"] = cf.write(d / "notes.mp4", b"not a video\n")
    f["empty_mp4"] = cf.write(d / "empty.mp4", b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom" + b"\0" * 100)
    f["video"] = cf.tiny_video(d / "tiny.avi")
    data = bytearray(f["video"].read_bytes())
    data[300:-100] = bytes(len(data) - 400)  # header and index kept, every frame zeroed: opens, decodes nothing
    f["undecodable"] = cf.write(d / "undecodable.avi", bytes(data))
    f["txt_model"] = cf.write(d / "model.txt", b"not a model")
    shutil.copy(FACE_MODEL, d / "bare.tflite")  # no sidecar beside it
    f["bare_model"] = d / "bare.tflite"
    # a face model whose sidecar belongs to another model (other input scale): caught by loading it
    shutil.copy(FACE_MODEL, d / "mismatch.tflite")
    side = json.loads((FACE_MODEL.parent / (FACE_MODEL.name + ".json")).read_text())
    side["input"]["quantization"]["scale"] *= 3
    (d / "mismatch.tflite.json").write_text(json.dumps(side))
    f["mismatch_model"] = d / "mismatch.tflite"
    # a damaged model file with a valid sidecar
    cf.write(d / "garbage.tflite", b"TFL3" + b"\0" * 4000)
    shutil.copy(FACE_MODEL.parent / (FACE_MODEL.name + ".json"), d / "garbage.tflite.json")
    f["garbage_model"] = d / "garbage.tflite"
    f["pem"] = cf.write(d / "ca.pem", b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    # the TFLite runtime this environment lacks (the main one has LiteRT, the Python 3.8 one tflite-runtime)
    f["missing_backend"] = next((name for name, module in (("tflite-runtime", "tflite_runtime"),
                                                           ("litert", "ai_edge_litert"))
                                 if importlib.util.find_spec(module) is None), None)
    return f


V = '[video]\nsource = "none"\n'  # most cases test the audio side alone, or the other way round
A = '[audio]\nsource = "none"\n'
MQTT = '[output]\npublisher = "mqtt"\n[mqtt]\n'
# (case, TOML (formatted with the files above), expected exit status, phrase of the message)
CASES = [
    ("face-weight-inf", "[fusion]\nface_weight = inf\n", 2, "fusion.face_weight = inf: expected a finite number"),
    ("voice-weight-nan", "[fusion]\nvoice_weight = nan\n", 2, "fusion.voice_weight = nan: expected a finite"),
    ("buffer-inf", "[audio]\nbuffer_s = inf\n", 2, "audio.buffer_s = inf: expected a finite number"),
    ("fps-minus-inf", "[output]\nfps = -inf\n", 2, "output.fps = -inf: expected a finite number"),
    ("capture-fps-1e308", "[video]\ncapture_fps = 1e308\n", 2, "video.capture_fps = 1e+308: must be at most 1000"),
    ("port-0", "[mqtt]\nport = 0\n", 2, "mqtt.port = 0: must be at least 1"),
    ("port-70000", "[mqtt]\nport = 70000\n", 2, "mqtt.port = 70000: must be at most 65535"),
    ("keepalive-100000", "[mqtt]\nkeepalive_s = 100000\n", 2, "mqtt.keepalive_s = 100000: must be at most 65535"),
    ("queue-1e9", "[mqtt]\nqueue_size = 1000000000\n", 2, "mqtt.queue_size = 1000000000: must be at most"),
    ("max-faces-1e6", "[detect]\nmax_faces = 1000000\n", 2, "detect.max_faces = 1000000: must be at most 64"),
    ("threads-0", "[models]\nthreads = 0\n", 2, "models.threads = 0: must be at least 1"),
    ("sample-rate-1", "[audio]\nsample_rate = 1\n", 2, "audio.sample_rate = 1: must be at least 8000"),
    ("utterance-600-s", "[audio]\nmax_utterance_s = 600\n", 2, "audio.max_utterance_s = 600.0: must be at most 30"),
    ("smoothing-1", "[fusion]\nsmoothing = 1.0\n", 2, "fusion.smoothing = 1.0: must be at most 0.99"),
    ("min-level-plus-10-db", "[audio]\nmin_level_db = 10\n", 2, "audio.min_level_db = 10.0: must be at most 0"),
    ("realtime-yes", '[video]\nrealtime = "yes"\n', 2, "video.realtime = 'yes': expected true or false"),
    ("providers-string", '[models]\nproviders = "CPU"\n', 2, "models.providers = 'CPU': expected a list of str"),
    ("section-not-table", "video = 3\n", 2, "video: expected a table, got 3"),
    ("misspelt-key", '[video]\nsorce = "0"\n', 2, "video.sorce: unknown key"),
    ("unknown-section", "[camera]\nsource = 0\n", 2, "camera: unknown key"),
    ("log-level-verbose", '[service]\nlog_level = "verbose"\n', 2, "service.log_level = 'verbose': must be one of"),
    ("invalid-toml", "[video\nsource = 0\n", 2, "not valid TOML"),
    ("nul-in-source", '[video]\nsource = "a\\u0000b"\n', 2, "video.source = 'a\\x00b': contains a NUL"),
    ("both-none", V + A, 2, "video.source, audio.source and text.source are all 'none'"),
    # the files a config names
    ("audio-missing-wav", V + '[audio]\nsource = "/nope.wav"\n', 2, "audio.source = '/nope.wav': no such file"),
    ("audio-folder", V + '[audio]\nsource = "{folder}"\n', 2, "is a folder, not a file"),
    ("audio-mp3", V + '[audio]\nsource = "{mp3}"\n', 2, "MP3 audio, not something edge-emotion reads"),
    ("audio-fifo", V + '[audio]\nsource = "{fifo}"\n', 2, "not a regular file (a FIFO or device)"),
    ("audio-1-hz-wav", V + '[audio]\nsource = "{wav_1hz}"\n', 2, "1 channels, 1 Hz"),
    ("audio-jpeg", V + '[audio]\nsource = "{jpg}"\n', 2, "JPEG image, not a WAV file"),
    ("video-missing-file", A + '[video]\nsource = "/nope.mp4"\n', 2, "video.source = '/nope.mp4': no such file"),
    ("video-wav", A + '[video]\nsource = "{wav}"\n', 2, "WAV audio, not a video (put it in audio.source)"),
    ("video-text-file", A + '[video]\nsource = "{text_mp4}"\n', 2, "a text file"),
    ("video-empty-mp4", A + '[video]\nsource = "{empty_mp4}"\n', 2, "not a video OpenCV can open"),
    ("video-without-decodable-frame", A + '[video]\nsource = "{undecodable}"\nloop = true\n', 2,
     "no decodable frame"),
    ("video-ftp-url", A + '[video]\nsource = "ftp://cam.local/live"\n', 2, "unsupported URL scheme 'ftp'"),
    ("model-missing", A + '[video]\nsource = "{video}"\n[models]\nface = "/nope.tflite"\n', 2,
     "models.face = '/nope.tflite': file not found"),
    ("model-text-file", A + '[video]\nsource = "{video}"\n[models]\nface = "{txt_model}"\n', 2, "not a model file"),
    ("model-without-sidecar", A + '[video]\nsource = "{video}"\n[models]\nface = "{bare_model}"\n', 2,
     "no description next to bare.tflite"),
    ("model-of-the-other-task", A + '[video]\nsource = "{video}"\n[models]\nface = "%s"\n' % VOICE_MODEL, 2,
     "describes a voice model, not a face model"),
    # a file path does not follow the backend (a bundled name does: tests/test_model_names.py)
    ("backend-cannot-read-format", A + '[video]\nsource = "{video}"\n[models]\nbackend = "onnxruntime"\nface = "%s"\n'
     % FACE_MODEL, 2, "models.backend = 'onnxruntime' cannot read .tflite models"),
    ("model-sidecar-of-another-model", A + '[video]\nsource = "{video}"\n[models]\nface = "{mismatch_model}"\n', 2,
     "the sidecar belongs to another model"),
    ("model-damaged", A + '[video]\nsource = "{video}"\n[models]\nface = "{garbage_model}"\n', 2, "garbage.tflite"),
    ("mqtt-password-env-unset", V + MQTT + 'username = "u"\npassword_env = "NO_SUCH_VARIABLE_13"\n', 2,
     "mqtt.password_env = 'NO_SUCH_VARIABLE_13': that environment variable is not set"),
    ("mqtt-password-file-missing", V + MQTT + 'username = "u"\npassword_file = "/nope/pw"\n', 2,
     "mqtt.password_file = '/nope/pw': cannot read"),
    ("mqtt-ca-missing", V + MQTT + 'tls = true\nca_file = "/nope/ca.pem"\n', 2, "mqtt.ca_file = '/nope/ca.pem': file"),
    ("mqtt-ca-not-a-certificate", V + MQTT + 'tls = true\nca_file = "{pem}"\n', 2, "could not be loaded"),
    ("mqtt-reconnect-min-above-max", V + MQTT + "reconnect_min_s = 10.0\nreconnect_max_s = 1.0\n", 2,
     "mqtt.reconnect_min_s = 10 is more than mqtt.reconnect_max_s = 1"),
    ("mqtt-device-id-slash", V + MQTT + 'device_id = "a/b"\n', 2, "mqtt.device_id = 'a/b': must be non-empty"),
    ("mqtt-prefix-wildcard", V + MQTT + 'prefix = "home/#"\n', 2, "mqtt.prefix = 'home/#'"),
    ("mqtt-empty-host", V + MQTT + 'host = " "\n', 2, "mqtt.host is empty"),
    # values each fine alone that together leave nothing, ever (the issue: accepted, then silently no result)
    ("fusion-weights-all-zero", "[fusion]\nface_weight = 0\nvoice_weight = 0\ntext_weight = 0\n", 2,
     "every channel that is on has weight 0"),
    ("fusion-weight-zero-of-the-only-channel", V + "[fusion]\nvoice_weight = 0\n", 2,
     "fusion.voice_weight = 0: every channel that is on has weight 0"),
    ("min-speech-above-max-utterance", V + "[audio]\nmin_speech_s = 12\nmax_utterance_s = 8\n", 2,
     "audio.min_speech_s = 12 is more than audio.max_utterance_s = 8"),
    # what this machine lacks: exit 3, which the service retries
    ("detector-package-missing", A + '[video]\nsource = "{video}"\n[detect]\ndetector = "mediapipe"\n', 3,
     "needs the package mediapipe"),
    ("backend-package-missing", A + '[video]\nsource = "{video}"\n[models]\nbackend = "{missing_backend}"\n', 3,
     "needs the package"),
    # odd but valid: accepted
    ("camera-index-as-integer", A + "[video]\nsource = 5\n", 0, "OK (video '5'"),
    ("video-fifo-is-a-stream", A + '[video]\nsource = "{fifo}"\n', 0, "OK"),
    ("example-service-config", (ROOT / "systemd" / "edge-emotion.toml").read_text(), 0, "OK"),
    ("fusion-weight-zero-of-one-channel-of-two", "[fusion]\nvoice_weight = 0\n", 0, "OK"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return _files(tmp_path_factory.mktemp("corpus-configs"))


def check_config(path, capsys) -> tuple[int | None, str]:
    """`edge-emotion check-config PATH` in-process, bounded in time: (exit status or None when it hung, output)."""
    box: dict = {}

    def run():
        try:
            box["code"] = cli.main(["check-config", str(path)])
        except BaseException as e:  # noqa: BLE001 - anything escaping is a crash
            box["raised"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(CASE_TIMEOUT_S)
    out = capsys.readouterr()
    if "raised" in box:
        return -1, f"{type(box['raised']).__name__}: {box['raised']}\n{out.err}"
    return box.get("code"), out.out + out.err


@pytest.mark.skipif(not cf.SPEECH.is_file(), reason="shared datasets missing")
@pytest.mark.parametrize("case,toml,code,phrase", CASES, ids=[c[0] for c in CASES])
def test_config(case, toml, code, phrase, files, tmp_path, capsys, corpus):
    if "{missing_backend}" in toml and files["missing_backend"] is None:
        pytest.skip("both TFLite runtimes are installed here")
    path = tmp_path / "c.toml"
    path.write_text(toml.format(**files) if "{" in toml and "\\u" not in toml else toml)
    got, text = check_config(path, capsys)
    corpus(outcome(got, 0.0, text, ok=(0, 2, 3)), "configs", f"config:{case}")
    assert got == code, text
    assert phrase in text, text
    if code:
        assert all(line.startswith(f"{path}: ") for line in text.strip().splitlines()), text  # one line per error


# One of each kind: a value, a file the config names, a model checked by loading it, a missing package (exit 3).
RUN_AGREES = ["face-weight-inf", "audio-missing-wav", "model-sidecar-of-another-model", "detector-package-missing",
              "fusion-weights-all-zero"]


@pytest.mark.skipif(not cf.SPEECH.is_file(), reason="shared datasets missing")
def test_run_refuses_what_check_config_refuses_with_the_same_status(files, tmp_path):
    """The issue's first finding: configs check-config passed and `run` then rejected. Now one code path."""
    cases = {c[0]: c for c in CASES}
    for name in RUN_AGREES:
        _, toml, code, phrase = cases[name]
        path = tmp_path / f"{name}.toml"
        path.write_text(toml.format(**files))
        p = subprocess.run([sys.executable, "-m", "edge.cli", "run", "--config", str(path)], capture_output=True,
                           text=True, cwd=ROOT, timeout=120)
        assert p.returncode == code, (name, p.stderr)
        assert phrase in p.stderr and "Traceback" not in p.stderr, (name, p.stderr)


# --- config files `run` cannot read (the service user's view) ----------------------------------------------------
# The issue: `run --config FILE` on an unreadable file, a folder or a file that is not UTF-8 gave a traceback and
# exit 1, which systemd restarts forever; check-config reported them cleanly. Both now give one line and exit 2.

def _drop_root_file_access() -> None:
    """In the child: without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH even root meets mode 000 as the service
    user does (dropped from the bounding set, so the exec'd interpreter never gets them back)."""
    import ctypes
    import os

    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP


def _config_file(kind: str, d):
    if kind == "unreadable":
        p = d / "unreadable.toml"
        p.write_text('[video]\nsource = "none"\n')
        p.chmod(0)
    elif kind == "folder":
        p = d / "folder.toml"
        p.mkdir()
    elif kind == "latin-1":
        p = d / "latin1.toml"
        p.write_bytes('# caf\u00e9 in the kitchen\n[video]\nsource = "none"\n'.encode("latin-1"))
    elif kind == "utf-16":
        p = d / "utf16.toml"
        p.write_bytes('[video]\nsource = "none"\n'.encode("utf-16"))  # what Notepad's "Unicode" writes
    elif kind == "fifo-without-writer":
        p = cf.fifo(d / "pipe.toml")
    return p


CONFIG_FILES = [  # (kind, phrase of the one line)
    ("unreadable", "cannot read it (permission denied)"),
    ("folder", "is a folder, not a file"),
    ("latin-1", "not UTF-8 text (byte 0xe9"),
    ("utf-16", "not UTF-8 text (byte 0xff at offset 0)"),
    ("fifo-without-writer", "nothing came from it within 5 s"),
]


@pytest.mark.parametrize("command", ["run", "check-config"])
@pytest.mark.parametrize("kind,phrase", CONFIG_FILES, ids=[c[0] for c in CONFIG_FILES])
def test_a_config_file_that_cannot_be_read_is_one_line_and_exit_2(kind, phrase, command, tmp_path, corpus):
    path = _config_file(kind, tmp_path)
    args = ["run", "--config", str(path)] if command == "run" else ["check-config", str(path)]
    try:
        p = subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True, cwd=ROOT,
                           timeout=CASE_TIMEOUT_S, preexec_fn=_drop_root_file_access)
        code, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired as e:
        code, err = None, str(e.stderr)
    corpus(outcome(code, 0.0, err, ok=(0, 2, 3)), "configs", f"config-file:{kind}:{command}")
    lines = [line for line in err.splitlines() if not line.startswith("INFO")]
    assert code == 2 and phrase in err and len(lines) == 1 and str(path) in lines[0], (code, err)
