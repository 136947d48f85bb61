"""Training round trip on real Emo-DB and RAVDESS audio: features -> MLP or softmax fit -> int8 TFLite and ONNX -> edge/."""

import argparse

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from convert import DATASETS  # noqa: E402
from convert.voice.corpora import load_audio, load_corpora  # noqa: E402
from convert.voice.data import FeatureCache, augment  # noqa: E402
from convert.voice.evaluate import FoldModels, corpus_scores, folds  # noqa: E402
from convert.voice.model import Recipe, description, fit, predict  # noqa: E402
from convert.voice.train import label_map  # noqa: E402
from edge.audio.features import utterance_windows  # noqa: E402
from edge.classify.voice import VoiceClassifier  # noqa: E402
from edge.labels import VOICE_LABELS  # noqa: E402

# Short windows with a short hop give ~16 windows per 2 s file: enough calibration rows (quantize wants at
# least 300) from ~60 files; the whole test takes about 20 s on 2 cores.
WINDOW_S, HOP_S = 0.5, 0.1


def _extract(x):
    return utterance_windows(x, WINDOW_S, HOP_S, 40.0, level_db=-26.0)


@pytest.fixture(scope="module")
def data():
    utts, y = load_corpora(DATASETS / "emodb", DATASETS / "ravdess")
    pick = [i for i, u in enumerate(utts) if (u.corpus == "emodb" and i % 13 == 0)
            or (u.corpus == "ravdess" and u.speaker in ("r01", "r02") and i % 3 == 0)]
    return [utts[i] for i in pick], y[pick]


def test_corpora_map_onto_the_voice_labels(data):
    utts, y = data
    assert {u.corpus for u in utts} == {"emodb", "ravdess"}
    for u, k in zip(utts, y):
        if u.label in ("calm", "surprise"):  # not trained on (edge/labels.py VOICE_SOURCE_MAP)
            assert k == -1
        else:
            assert VOICE_LABELS[k] == u.label
    mapping, labels = label_map(["calm=neutral", "surprise=surprise"])
    assert mapping["calm"] == "neutral" and "surprise" in labels and labels[0] == "angry"
    with pytest.raises(SystemExit, match="--map happy=joy"):
        label_map(["happy=joy"])


def test_folds_hold_out_whole_speakers():
    utts, _ = load_corpora(DATASETS / "emodb", DATASETS / "ravdess", nemo=DATASETS / "nemo")
    fs = folds(utts)
    assert len(fs) == 5 and sum(len(te) for _, te in fs) == len(utts)
    assert len(set(np.concatenate([te for _, te in fs]))) == len(utts)  # every file held out exactly once
    for name, te in fs:
        held = {utts[i].speaker for i in te}
        by = {c: {utts[i].speaker for i in te if utts[i].corpus == c} for c in ("ravdess", "emodb", "nemo")}
        assert len(by["ravdess"]) == 4 and len(by["emodb"]) in (1, 2) and len(by["nemo"]) in (1, 2), name
        assert sum(int(s[1:]) % 2 for s in by["ravdess"]) == 2  # RAVDESS: two men, two women
        trained = {u.speaker for u in utts} - held
        assert not trained & held
    per_corpus = folds(utts, per_corpus=True)  # v2's protocol: 5 RAVDESS folds, one per Emo-DB and nEMO speaker
    assert len(per_corpus) == 5 + 8 + 7 and sum(len(te) for _, te in per_corpus) == len(utts)


def test_nemo_maps_onto_the_voice_labels():
    utts, y = load_corpora(DATASETS / "emodb", DATASETS / "ravdess", nemo=DATASETS / "nemo")
    nemo = [(u, k) for u, k in zip(utts, y) if u.corpus == "nemo"]
    assert len(nemo) == 3403 and len({u.speaker for u, _ in nemo}) == 7
    assert {u.label for u, _ in nemo} == {"angry", "fear", "happy", "sad", "neutral", "surprise"}
    for u, k in nemo:  # surprised is not a voice label: not trained on, like RAVDESS's
        assert (k == -1) if u.label == "surprise" else VOICE_LABELS[k] == u.label
    x = load_audio(nemo[0][0].path, 16000)  # Opus through soundfile
    assert x.dtype == np.float32 and 0.5 * 16000 < len(x) < 10 * 16000 and np.abs(x).max() > 0.01


def test_feature_cache_extracts_once_and_augments_deterministically(tmp_path, data):
    utts, _ = data
    calls = []
    cache = FeatureCache(tmp_path, lambda x: calls.append(1) or _extract(x), {"test": 1})
    a = cache.features(utts[:3], "aug0")
    b = FeatureCache(tmp_path, _extract, {"test": 1}).features(utts[:3], "aug0")
    assert len(calls) == 3 and all(np.array_equal(p, q) for p, q in zip(a, b))
    x = load_audio(utts[0].path, 16000)
    y1, y2 = augment(x, np.random.default_rng(5)), augment(x, np.random.default_rng(5))
    assert np.array_equal(y1, y2) and 0.85 * len(x) < len(y1) < 1.15 * len(x)


@pytest.fixture(scope="module")
def feats(data):
    return [[_extract(load_audio(u.path, 16000)) for u in data[0]]]


@pytest.mark.parametrize("hidden,members", [(256, 2), (0, 1)])
def test_train_quantize_and_run_through_edge(tmp_path, data, feats, monkeypatch, hidden, members):
    monkeypatch.setattr("convert.voice.features.WINDOW_S", WINDOW_S)  # the descriptions name this test's windows
    monkeypatch.setattr("convert.voice.features.HOP_S", HOP_S)
    utts, y = data
    corpus = np.array([u.corpus for u in utts])
    prior, model, rows = fit(feats, y, corpus, np.arange(len(utts)), Recipe(hidden=hidden, members=members))
    assert len(rows) >= 300 and model.output_shape == (None, len(VOICE_LABELS))
    # Two MLP members (input, two members, their average) or the softmax layer alone.
    assert len(model.layers) == (4 if hidden else 1)
    # The numpy forward pass the cross-validation uses is the Keras model's (dropout off).
    np.testing.assert_allclose(predict(model, rows[:50]), model.predict(rows[:50], verbose=0), atol=1e-5)
    # Trained, not chance: it fits its own training rows.
    labelled = np.concatenate([[k] * len(f) for k, f in zip(y, feats[0]) if k >= 0])
    assert (predict(model, rows).argmax(axis=1) == labelled).mean() > 0.8
    args = argparse.Namespace(labels=VOICE_LABELS, mapping=label_map([])[0], float_only=False)
    fm = FoldModels(prior, model, rows, utts, tmp_path, args)
    float_pred = np.array([np.argmax(fm.predict("float", prior.apply(f))) for f in feats[0]])
    for name in ("tflite-int8", "onnx-int8"):
        pred = np.array([np.argmax(fm.predict(name, prior.apply(f))) for f in feats[0]])
        assert (pred == float_pred).mean() > 0.9, name  # int8 keeps the float decisions
    # The exported file runs on the device path: the description carries the window, level and prior.
    desc = description(prior, utts, None)
    assert desc["preprocess"]["level_db"] == -26.0 and len(desc["preprocess"]["norm"]["mean"]) == rows.shape[1]
    clf = VoiceClassifier(tmp_path / "voice_int8.tflite")
    assert clf.window_s == WINDOW_S and clf.level_db == -26.0
    r = clf.classify(load_audio(utts[0].path, 16000), 16000)
    assert r.probs is not None and r.windows > 1 and r.emotion in VOICE_LABELS
    scored = corpus_scores(utts, float_pred, VOICE_LABELS)
    assert scored["emodb"]["n"] == sum(1 for u in utts if u.corpus == "emodb")
    assert len(scored["ravdess"]["confusion"][0]) == len(VOICE_LABELS) + 1  # last column: no answer


def test_a_model_with_the_speech_embedding_runs_through_edge(tmp_path, data, feats, monkeypatch):
    """--front both: functionals and pooled embeddings side by side; the device rebuilds both from the description."""
    from convert.voice.embed import MODELS, SHARED_NAMES, embedder

    if not MODELS.is_dir():
        pytest.skip("../shared/models/speech-embedding not here")
    monkeypatch.setattr("convert.voice.features.WINDOW_S", WINDOW_S)
    monkeypatch.setattr("convert.voice.features.HOP_S", HOP_S)
    utts, y = data
    audio = [load_audio(u.path, 16000) for u in utts]
    se = embedder()
    both = [[np.concatenate([f, se.windows(x, WINDOW_S, HOP_S, 40.0, level_db=-26.0)], axis=1)
             for f, x in zip(feats[0], audio)]]
    corpus = np.array([u.corpus for u in utts])
    prior, model, rows = fit(both, y, corpus, np.arange(len(utts)), Recipe(hidden=0))  # softmax layer: seconds
    assert rows.shape[1] == 1097 + 192
    args = argparse.Namespace(labels=VOICE_LABELS, mapping=label_map([])[0], float_only=False, front="both")
    fm = FoldModels(prior, model, rows, utts, tmp_path, args)
    for stem, shared in SHARED_NAMES.items():  # the embedding files sit beside the voice model, as in edge/models
        for ext in ("tflite", "onnx"):
            (tmp_path / f"{stem}.{ext}").symlink_to(MODELS / f"{shared}.{ext}")
    preds = {}
    for name, backend in (("voice_int8.tflite", None), ("voice_int8.onnx", "onnxruntime")):
        clf = VoiceClassifier(tmp_path / name, backend=backend)
        assert clf.embedding is not None and clf.functionals
        np.testing.assert_allclose(clf.window_features(audio[0]), both[0][0], atol=1e-3)  # same features as training
        preds[name] = [clf.classify(x, 16000).emotion for x in audio[:20]]
    fold = [VOICE_LABELS[int(np.argmax(fm.predict("tflite-int8", prior.apply(f))))] for f in both[0][:20]]
    assert preds["voice_int8.tflite"] == fold  # classify() = the fold evaluation's path
    assert np.mean([a == b for a, b in zip(*preds.values())]) >= 0.8


def test_adapted_training_rows_are_what_the_running_normalisation_gives(data, feats):
    """--adapt-share: a file copy z-scored as `audio.adapt` would (edge's RunningNorm after k of the speaker's
    files, the file itself last); share 0 is the prior alone, row for row."""
    from convert.voice.model import MAX_COUNT, PRIOR_COUNT, adapted_z
    from convert.voice.model import NORM_CLIP, Prior
    from edge.audio.normalise import RunningNorm

    utts, y = data
    idx = np.arange(len(utts))
    speakers = np.array([u.speaker for u in utts])
    x = np.concatenate(feats[0])
    prior = Prior.of(x)
    np.testing.assert_array_equal(adapted_z(feats, idx, speakers, prior, 0.0, 30, 0), prior.apply(x))
    # k_max 1: every file normalised by the prior plus itself alone, exactly as the device after one file.
    z = adapted_z(feats, idx, speakers, prior, 1.0, 1, 0)
    first = RunningNorm(prior.mean, prior.std, PRIOR_COUNT, MAX_COUNT, NORM_CLIP)
    first.update(feats[0][0].mean(axis=0))
    np.testing.assert_allclose(z[:len(feats[0][0])], first.apply(feats[0][0]), atol=1e-6)
    # More files of the voice move the rows away from the prior's z-scores, and they stay clipped like them.
    z30 = adapted_z(feats, idx, speakers, prior, 1.0, 30, 0)
    assert z30.shape == x.shape and np.abs(z30).max() <= NORM_CLIP
    assert np.abs(z30 - prior.apply(x)).mean() > np.abs(z - prior.apply(x)).mean()
