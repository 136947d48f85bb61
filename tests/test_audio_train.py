"""Training smoke run and quantization round trip: Keras -> int8 TFLite and int8 ONNX -> edge/ on real Emo-DB audio."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from convert.emodb import load_audio, load_emodb  # noqa: E402
from convert.train_audio import description, fit, online_normalised, speaker_normalised, stack  # noqa: E402
from edge.audio.features import utterance_windows  # noqa: E402
from edge.audio.voice import VoiceClassifier  # noqa: E402
from edge.model import Model  # noqa: E402

# Short windows with a short hop give ~16 windows per 2 s file: enough calibration rows (quantize wants
# at least 300) from 39 files; the whole test takes about 8 s on 2 cores.
WINDOW_S, HOP_S = 0.5, 0.1


def test_train_quantize_and_run_through_edge(tmp_path):
    from convert.quantize import export_all

    utts = [u for i, u in enumerate(load_emodb("../shared/datasets/emodb")) if i % 11 == 0]  # 39 files, 8 speakers
    feats = [utterance_windows(load_audio(u.path, 16000), WINDOW_S, HOP_S, 40.0) for u in utts]
    y = np.array([u.label_index for u in utts])
    spk = np.array([u.speaker for u in utts])
    train, prior = speaker_normalised(feats, spk)
    x, yy = stack(train, y)
    assert len(x) >= 300
    model = fit(x, yy, hidden=0, epochs=5, seed=0)
    model.save(tmp_path / "voice.keras")
    d = description(prior, len(utts), sorted(set(spk)), None)
    d["preprocess"].update(window_s=WINDOW_S, hop_s=HOP_S)
    paths = export_all(tmp_path / "voice.keras", x, tmp_path, "voice", d, targets=("tflite-int8", "onnx-float32",
                                                                                  "onnx-int8"))
    keras_pred = model.predict(x, verbose=0).argmax(1)
    for target in ("tflite-int8", "onnx-int8"):
        pred = Model(paths[target]).predict(x).argmax(1)
        assert (pred == keras_pred).mean() > 0.9, target  # int8 keeps the float decisions
    clf = VoiceClassifier(paths["tflite-int8"])
    assert clf.window_s == WINDOW_S and clf.norm.prior_mean.shape == (x.shape[1],)
    r = clf.classify_file(utts[0].path)
    assert r.probs is not None and r.windows > 1 and r.emotion in clf.labels
    # The held-out path normalises like the device: same shapes, clipped z-scores.
    held = online_normalised(feats[:5], prior, seed=0)
    assert held[0].shape == feats[0].shape and np.abs(np.concatenate(held)).max() <= 5.0
