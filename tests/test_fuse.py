import numpy as np
import pytest

from edge.config import FusionConfig
from edge.fuse.fusion import Fuser, to_fused
from edge.labels import FACE_LABELS, FUSED_LABELS, VOICE_LABELS


def onehot(labels, name):
    v = np.zeros(len(labels), np.float32)
    v[labels.index(name)] = 1.0
    return v


def test_label_mapping_keeps_shared_labels_and_marks_missing_ones():
    face = to_fused(onehot(FACE_LABELS, "surprise"), FACE_LABELS)
    voice = to_fused(onehot(VOICE_LABELS, "bored"), VOICE_LABELS)
    assert FUSED_LABELS[int(np.nanargmax(face))] == "surprise"
    assert FUSED_LABELS[int(np.nanargmax(voice))] == "bored"
    # a modality cannot express the other's own label: NaN, not a probability of 0
    assert np.isnan(face[FUSED_LABELS.index("bored")]) and np.isnan(voice[FUSED_LABELS.index("surprise")])
    # every shared label lands on the same fused index from both sides
    for label in set(FACE_LABELS) & set(VOICE_LABELS):
        assert np.nanargmax(to_fused(onehot(FACE_LABELS, label), FACE_LABELS)) == \
            np.nanargmax(to_fused(onehot(VOICE_LABELS, label), VOICE_LABELS)) == FUSED_LABELS.index(label)


FACE8 = FACE_LABELS + ("contempt",)  # a face model of one's own (FER+ has contempt)
VOICE8 = VOICE_LABELS + ("calm",)  # a voice model trained on RAVDESS's calm


def test_a_label_outside_the_fused_set_gets_its_own_entry_after_them():
    v = to_fused(onehot(FACE8, "contempt"), FACE8)
    assert v.labels == FUSED_LABELS + ("contempt",) and v[-1] == 1.0 and np.isnan(v[FUSED_LABELS.index("bored")])


def test_only_channels_that_can_express_a_new_label_have_a_say_on_it():
    """Face (contempt) and voice (calm): each extra label is the mean of the one channel that has it."""
    fuser = Fuser({"face": 0.5, "voice": 0.5}, smoothing=0.0)
    face = dict(zip(FACE8, [0.0, 0.0, 0.0, 0.2, 0.0, 0.0, 0.2, 0.6]))
    voice = dict(zip(VOICE8, [0.0, 0.0, 0.0, 0.2, 0.0, 0.2, 0.0, 0.6]))
    fused = fuser.update({"face": to_fused(list(face.values()), FACE8),
                          "voice": to_fused(list(voice.values()), VOICE8)})
    assert fused.labels == FUSED_LABELS + ("contempt", "calm")
    raw = {"happy": 0.2, "neutral": 0.2, "bored": 0.0, "surprise": 0.0, "contempt": 0.6, "calm": 0.6}
    total = sum(raw.values())
    for label, v in raw.items():
        assert fused.to_dict()["probs"][label] == pytest.approx(v / total, abs=1e-4)
    assert fused.emotion in ("contempt", "calm") and fused.to_dict()["emotion"] == fused.emotion


def test_a_new_label_joins_the_smoothed_state_and_stays_until_reset():
    fuser = Fuser({"face": 1.0}, smoothing=0.5)
    fuser.update({"face": to_fused(onehot(FACE_LABELS, "happy"), FACE_LABELS)})
    f = fuser.update({"face": to_fused(onehot(FACE8, "contempt"), FACE8)})
    assert f.labels[-1] == "contempt" and f.probs[-1] == pytest.approx(0.5)
    assert f.probs[FUSED_LABELS.index("happy")] == pytest.approx(0.5)
    f = fuser.update({"face": to_fused(onehot(FACE_LABELS, "sad"), FACE_LABELS)})  # a 7-label step: contempt decays
    assert f.labels[-1] == "contempt" and f.probs[-1] == pytest.approx(0.25)
    fuser.reset()
    assert fuser.update({"face": to_fused(onehot(FACE_LABELS, "sad"), FACE_LABELS)}).labels == FUSED_LABELS


def test_a_plain_vector_must_cover_the_fused_labels():
    fuser = Fuser({"face": 1.0}, smoothing=0.0)
    assert fuser.update({"face": np.eye(len(FUSED_LABELS), dtype=np.float32)[3]}).emotion == "happy"
    with pytest.raises(ValueError, match="without labels"):
        fuser.update({"face": np.ones(len(FUSED_LABELS) + 1, np.float32)})


def defaults(smooth=False):
    """The fuser every stage builds from the default [fusion] section."""
    return Fuser.from_config(FusionConfig(), smooth=smooth)


def test_weights_come_from_every_channel_weight_of_the_fusion_section():
    fuser = defaults(smooth=True)
    assert fuser.weights == {"face": 0.5, "voice": 0.3, "text": 0.2}
    assert fuser.smoothing == FusionConfig().smoothing
    assert defaults().smoothing == 0.0


def test_every_channel_has_a_fusion_weight():
    from edge.channels import CHANNELS

    assert set(CHANNELS) <= set(defaults().weights)


def test_a_channel_without_a_weight_is_refused():
    with pytest.raises(ValueError, match="fusion.smell_weight"):
        defaults().update({"smell": np.ones(len(FUSED_LABELS), np.float32)})


def test_weighted_sum_with_default_weights():
    fuser = defaults()
    face = to_fused(onehot(FACE_LABELS, "happy"), FACE_LABELS)
    voice = to_fused(onehot(VOICE_LABELS, "sad"), VOICE_LABELS)
    fused = fuser.update({"face": face, "voice": voice})
    # weights renormalised over the two present modalities: 0.5/0.8 and 0.3/0.8
    assert fused.probs[FUSED_LABELS.index("happy")] == pytest.approx(0.625)
    assert fused.probs[FUSED_LABELS.index("sad")] == pytest.approx(0.375)
    assert fused.emotion == "happy" and fused.sources == ("face", "voice")
    assert fused.probs.sum() == pytest.approx(1.0)


def test_the_voice_neither_votes_for_nor_against_the_faces_surprise():
    fuser = defaults()
    face = np.array([0.0, 0.0, 0.0, 0.2, 0.0, 0.5, 0.3], np.float32)  # surprise 0.5, neutral 0.3, happy 0.2
    voice = np.zeros(len(VOICE_LABELS), np.float32)
    voice[VOICE_LABELS.index("happy")], voice[VOICE_LABELS.index("sad")] = 0.6, 0.4
    fused = fuser.update({"face": to_fused(face, FACE_LABELS), "voice": to_fused(voice, VOICE_LABELS)})
    # Surprise keeps the face's 0.5 (only the face can say it); happy is (0.5 * 0.2 + 0.3 * 0.6) / 0.8 = 0.35.
    # Counting the voice as a 0 for surprise would give surprise 0.3125 and let happy (0.35) win.
    raw = {"surprise": 0.5, "happy": 0.35, "neutral": 0.1875, "sad": 0.15}
    for label, v in raw.items():
        assert fused.probs[FUSED_LABELS.index(label)] == pytest.approx(v / sum(raw.values()), abs=1e-6)
    assert fused.emotion == "surprise" and fused.probs[FUSED_LABELS.index("bored")] == 0.0


def test_absent_modality_renormalises_to_the_other():
    fuser = defaults()
    voice = to_fused(onehot(VOICE_LABELS, "angry"), VOICE_LABELS)
    fused = fuser.update({"face": None, "voice": voice})
    assert fused.probs[FUSED_LABELS.index("angry")] == pytest.approx(1.0)
    assert fused.sources == ("voice",)


def test_text_counts_when_present():
    fuser = defaults()
    face = to_fused(onehot(FACE_LABELS, "happy"), FACE_LABELS)
    text = to_fused(onehot(FACE_LABELS, "neutral"), FACE_LABELS)
    fused = fuser.update({"face": face, "voice": None, "text": text})
    assert fused.probs[FUSED_LABELS.index("neutral")] == pytest.approx(0.2 / 0.7)


def test_smoothing_is_exponential_and_nothing_present_resets():
    fuser = Fuser({"face": 0.5, "voice": 0.3}, smoothing=0.6)
    happy = to_fused(onehot(FACE_LABELS, "happy"), FACE_LABELS)
    sad = to_fused(onehot(FACE_LABELS, "sad"), FACE_LABELS)
    fuser.update({"face": happy})
    f = fuser.update({"face": sad})
    assert f.probs[FUSED_LABELS.index("happy")] == pytest.approx(0.6)
    assert f.probs[FUSED_LABELS.index("sad")] == pytest.approx(0.4)
    assert f.emotion == "happy"
    empty = fuser.update({"face": None, "voice": None})
    assert empty.emotion is None and empty.probs is None
    assert fuser.update({"face": sad}).emotion == "sad"  # no memory of the earlier happiness


def test_bad_smoothing_rejected():
    with pytest.raises(ValueError):
        Fuser({"face": 1.0}, smoothing=1.0)
