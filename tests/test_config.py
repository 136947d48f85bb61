import subprocess
import sys

import pytest

from edge import config


def test_defaults_are_valid_and_documented():
    cfg = config.Config()
    assert cfg.fusion.face_weight == 0.5 and cfg.fusion.voice_weight == 0.3 and cfg.fusion.text_weight == 0.2
    doc = config.describe()
    # the commented TOML it prints parses back into the defaults
    assert config.from_dict(config.tomllib.loads(doc)) == cfg


def test_unknown_keys_named_with_their_path(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[video]\nsorce = "0"\n[mqtt]\nport = "x"\n[fusion]\nsmoothing = 1.5\n[nope]\na = 1\n')
    with pytest.raises(config.ConfigError) as e:
        config.load(p)
    errors = "\n".join(e.value.errors)
    assert "video.sorce: unknown key" in errors
    assert "mqtt.port = 'x': expected an integer" in errors
    assert "fusion.smoothing = 1.5: must be at most 0.99" in errors
    assert "nope: unknown key" in errors
    assert len(e.value.errors) == 4


def test_choices_and_types():
    with pytest.raises(config.ConfigError, match="detect.detector = 'yolo': must be one of"):
        config.from_dict({"detect": {"detector": "yolo"}})
    with pytest.raises(config.ConfigError, match="expected true or false"):
        config.from_dict({"video": {"realtime": "yes"}})
    with pytest.raises(config.ConfigError, match="expected a list of str"):
        config.from_dict({"models": {"providers": "CPUExecutionProvider"}})
    with pytest.raises(config.ConfigError, match="video: expected a table"):
        config.from_dict({"video": 3})


def test_override_validates_like_the_file():
    cfg = config.override(config.Config(), {"output.fps": 5, "detect.max_faces": 2})
    assert cfg.output.fps == 5.0 and cfg.detect.max_faces == 2
    with pytest.raises(config.ConfigError, match="detect.max_faces = 0"):
        config.override(cfg, {"detect.max_faces": 0})


def test_invalid_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[video\n")
    with pytest.raises(config.ConfigError, match="not valid TOML"):
        config.load(bad)
    with pytest.raises(config.ConfigError, match="file not found"):
        config.load(tmp_path / "missing.toml")


def test_check_config_command_exit_codes(tmp_path):
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text('[video]\nsource = "0"\n')
    bad.write_text('[audio]\nsample_rte = 16000\n')
    ok = subprocess.run([sys.executable, "-m", "edge.cli", "check-config", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    ko = subprocess.run([sys.executable, "-m", "edge.cli", "check-config", str(bad)], capture_output=True, text=True)
    assert ko.returncode == 2  # the same status `run` exits with, which the unit does not restart
    assert "audio.sample_rte: unknown key" in ko.stderr
