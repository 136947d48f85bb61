"""Text on the device: tokens, input checks, payloads, and the shipped text model on real sentences."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge.paths import TEXT_MODEL
from edge.classify.text import TextClassifier, TextResult, with_context
from edge.text.decode import TextInputError, check, decode
from edge.text.features import TOKENISER_SPOKEN, TextSpec, Vectoriser, char_ngrams, tokens, tokens_for
from edge.capture.text import payload_text


def test_tokens_keep_contractions_punctuation_and_emoji():
    assert tokens("I CAN\u2019T believe it!!! \U0001F600") == ["i", "can't", "believe", "it", "!", "!", "!", "\U0001F600"]
    assert tokens("\uff28\uff45\uff4c\uff4c\uff4f 42") == ["hello", "42"]  # full-width letters (NFKC)


def test_spoken_tokens_expand_contractions_drop_fillers_mark_negation_and_intensity():
    v2 = lambda text: tokens_for(text, TOKENISER_SPOKEN)  # noqa: E731
    assert v2("Um, I\u2019m not really happy. It's sooooo good") == [
        ",", "i", "am", "not", "not~really", "not~happy", ".", "it", "is", "soo", "good"]
    assert v2("I dont know, im SO angry :(") == ["i", "do", "not", "not~know", ",", "i", "am", "so", "angry", "+angry",
                                                 "\U0001F641"]  # emoticon -> its emoji; negation ends at ","
    assert v2("never ever going back there again") == ["never", "not~ever", "not~going", "not~back", "there", "again"]
    assert v2("\U0001F44D\U0001F3FD") == ["\U0001F44D"]  # skin tone dropped: one emoji, one feature
    assert list(char_ngrams(["sad", "not~x", "!"], 3, 4)) == ["#<sa", "#sad", "#ad>", "#<sad", "#sad>"]


def test_bytes_that_are_not_text_are_refused_with_the_fix():
    assert decode("caf\u00e9 \U0001F600".encode()) == "caf\u00e9 \U0001F600"
    assert decode("\ufeffhello".encode()) == "hello"  # a BOM is not part of the text
    with pytest.raises(TextInputError, match="binary"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(TextInputError, match="not UTF-8.*iconv"):
        decode("caf\u00e9".encode("latin-1"))
    with pytest.raises(TextInputError, match="empty"):
        check("  \n\t ")
    with pytest.raises(TextInputError, match="binary"):
        check("\x01\x02\x03\x04 ab")


def test_payloads_hermes_json_string_and_plain_text():
    hermes = {"text": "turn on the kitchen light", "likelihood": 0.93, "seconds": 1.2, "siteId": "default",
              "sessionId": "abc", "wakewordId": None}
    assert payload_text(json.dumps(hermes).encode()) == "turn on the kitchen light"
    assert payload_text(b'"just a string"') == "just a string"
    assert payload_text(b"plain words") == "plain words"
    assert payload_text(b"{not json at all") == "{not json at all"
    with pytest.raises(TextInputError, match="`text` field"):
        payload_text(b'{"transcript": "hello"}')


@pytest.fixture(scope="module")
def clf():
    return TextClassifier(TEXT_MODEL)


@pytest.mark.parametrize("text, emotion", [
    ("Thank you so much, this is wonderful and I love it!", "happy"),
    ("I am so angry at you, this is completely unacceptable.", "angry"),
    ("I'm really scared and nervous about what will happen.", "fear"),
    ("That is so sad, I'm sorry for your loss.", "sad"),
    ("Wow, I did not expect that at all! Really?", "surprise"),
])
def test_shipped_model_reads_plain_sentences(clf, text, emotion):
    res = clf.classify(text)
    assert res.emotion == emotion, res.to_dict()
    assert res.language_supported and not res.truncated
    assert abs(float(res.probs.sum()) - 1.0) < 0.02
    assert set(res.to_dict()["probs"]) == set(clf.labels)


@pytest.mark.parametrize("text, emotion", [
    ("Okay, I'll pick you up at seven then.", "neutral"),  # v1: happy
    ("So what are you guys doing tonight?", "neutral"),  # v1: surprise
    ("i dont wanna be alone right now, im scared", "fear"),
    ("ugh, that is sooo gross", "disgust"),
])
def test_shipped_model_reads_spoken_lines(clf, text, emotion):
    """Text v2 (GoEmotions + MELD, tokeniser words-2) reads plain conversational lines as neutral where v1 guessed an
    emotion. Regression goldens written after v2 ran on them, not a measure: the measures are in text_validation.md."""
    assert clf.spec.tokeniser == "edge-emotion/words-2"
    res = clf.classify(text)
    assert res.emotion == emotion, res.to_dict()


def test_shipped_sidecars_state_the_committed_validation():
    """Each shipped sidecar's `metrics` are the figures of benchmarks/reports/text_validation.json for that file."""
    from pathlib import Path

    report = json.loads((Path(__file__).resolve().parents[1] / "benchmarks/reports/text_validation.json").read_text())
    rows = {r["file"]: r for r in report["rows"]}
    for name, key in (("text_int8.tflite", "int8_tflite"), ("text_int8.onnx", "int8_onnx")):
        m = json.loads((TEXT_MODEL.parent / f"{name}.json").read_text())["metrics"]
        r = rows[name]
        assert m[f"goemotions_test_macro_f1_{key}"] == round(r["test"]["macro_f1"], 4)
        assert m[f"meld_dev_uar_{key}"] == round(r["meld_dev"]["uar"], 4)
        assert m[f"meld_dev_weighted_f1_{key}"] == round(r["meld_dev"]["weighted_f1"], 4)
        assert m[f"own_sentences_accuracy_{key}"] == round(r["own"]["accuracy_single"], 4)


def test_long_text_is_cut_and_says_so(clf):
    res = clf.classify("I am so happy today. " * 100)
    assert res.truncated and res.tokens == clf.spec.max_tokens and res.emotion == "happy"
    assert clf.classify("word " * 10000).truncated  # over text.max_chars: cut before tokenising


@pytest.mark.parametrize("text", [
    "Ich habe mich heute sehr über das Geschenk meiner Schwester gefreut.",
    "Je ne sais pas pourquoi il est parti sans rien dire à personne.",
    "No puedo creer que hayan cancelado el concierto otra vez.",
    "Я очень рад тебя видеть сегодня вечером.",
    "今日はとても楽しかったです",
])
def test_other_languages_are_flagged_not_guessed(clf, text):
    res = clf.classify(text)
    assert not res.language_supported and res.probs is None and "English" in res.reason
    assert res.to_dict()["emotion"] is None


def test_texts_without_words_get_a_reason(clf):
    res = clf.classify("!!! ??? 123")
    assert res.probs is None and res.reason == "no words"
    with pytest.raises(TextInputError):
        clf.classify("")


def test_a_vocabulary_from_another_model_is_refused(tmp_path, clf):
    spec = clf.spec
    (tmp_path / spec.vocabulary).write_text("hello\t1.0\n")
    with pytest.raises(ValueError, match="sha256"):
        Vectoriser.load(spec, tmp_path)
    other = TextSpec(spec.vocabulary, spec.vocabulary_sha256, spec.size, tokeniser="someone-else/1")
    with pytest.raises(ValueError, match="tokeniser"):
        Vectoriser(other, ["x"] * spec.size, np.ones(spec.size))


def test_context_mixes_the_previous_text_and_says_so():
    labels = ("a", "b")
    res = TextResult(np.array([0.8, 0.2], np.float32), None, labels)
    mixed = with_context(res, np.array([0.0, 1.0], np.float32), 0.25)
    assert mixed.context and np.allclose(mixed.probs, [0.6, 0.4]) and mixed.to_dict()["context"] is True
    assert with_context(res, None, 0.25) is res and not res.to_dict()["context"]  # first text: nothing to mix
    assert with_context(res, np.array([0.0, 1.0]), 0.0) is res  # text.context = 0: off
    refused = TextResult(None, "no words", labels)
    assert with_context(refused, np.array([0.0, 1.0]), 0.5) is refused
