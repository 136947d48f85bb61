"""Corpus loaders on generated fixtures: Emo-DB file names and the RAVDESS Actor_XX layout."""

from pathlib import Path

import numpy as np
import pytest

from convert.voice.corpora import load_audio, load_emodb, load_ravdess
from edge.audio.wav import write_wav


def _tone(path: Path, rate: int = 22050, seconds: float = 0.2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    write_wav(path, 0.3 * np.sin(2 * np.pi * 220 * t), rate)


def test_emodb_names_give_speaker_text_and_label(tmp_path):
    for name in ("03a01Wa.wav", "08b02Lb.wav", "16a05Ec.wav", "11b10Td.wav"):
        _tone(tmp_path / "wav" / name)
    utts = load_emodb(tmp_path)  # the folder holding wav/ works as well as wav/ itself
    assert [(u.speaker, u.text, u.label) for u in utts] == [
        ("03", "a01", "angry"), ("08", "b02", "bored"), ("11", "b10", "sad"), ("16", "a05", "disgust")]
    assert load_emodb(tmp_path / "wav") == utts
    assert utts[0].label_index == 0


def test_emodb_rejects_foreign_names_and_empty_folders(tmp_path):
    _tone(tmp_path / "03a01Wa.wav")
    _tone(tmp_path / "recording.wav")
    with pytest.raises(ValueError, match="recording.wav"):
        load_emodb(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no Emo-DB"):
        load_emodb(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_emodb(tmp_path / "missing")


def test_ravdess_layout_keeps_every_speech_emotion_and_skips_song(tmp_path):
    names = ["Actor_01/03-01-05-01-01-01-01.wav",  # angry, speech
             "Actor_01/03-01-02-02-01-01-01.wav",  # calm, strong
             "Actor_02/03-01-01-01-02-02-02.wav",  # neutral
             "Actor_02/03-02-04-01-01-01-02.wav",  # song: skipped
             "Actor_12/03-01-08-02-01-01-12.wav",  # surprised
             "Actor_12/03-01-07-02-01-01-12.wav"]  # disgust
    for n in names:
        _tone(tmp_path / n, rate=48000)
    utts = load_ravdess(tmp_path)
    assert [(u.speaker, u.label, u.corpus) for u in utts] == [
        ("r01", "calm", "ravdess"), ("r01", "angry", "ravdess"), ("r02", "neutral", "ravdess"),
        ("r12", "disgust", "ravdess"), ("r12", "surprise", "ravdess")]
    assert utts[0].text == "i2s1"  # strong intensity, statement 1
    _tone(tmp_path / "Actor_03" / "bad-name.wav")
    with pytest.raises(ValueError, match="bad-name.wav"):
        load_ravdess(tmp_path)


def test_the_shared_ravdess_copy_is_flac_and_reads_with_soundfile():
    pytest.importorskip("soundfile")
    utts = load_ravdess("../shared/datasets/ravdess")
    assert len(utts) == 1200 and len({u.speaker for u in utts}) == 20
    assert all(u.path.suffix == ".flac" for u in utts)
    x = load_audio(utts[0].path, 16000)
    assert x.dtype == np.float32 and 2.5 < len(x) / 16000 < 6.0


def test_load_audio_resamples_to_the_model_rate(tmp_path):
    _tone(tmp_path / "Actor_01" / "03-01-05-01-01-01-01.wav", rate=48000, seconds=0.5)
    x = load_audio(tmp_path / "Actor_01" / "03-01-05-01-01-01-01.wav", 16000)
    assert x.dtype == np.float32 and len(x) == 8000
