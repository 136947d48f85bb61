"""Text -> the model's input vector, in plain Python and numpy: normalise, tokenise, look n-grams up, weight.

Training (`edge-convert train-text`) imports this module, so the device and the training code cannot disagree.
The vocabulary (one n-gram and its idf per line) ships beside the model; the sidecar's `preprocess` describes
the rest (TextSpec).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

TOKENISER = "edge-emotion/words-1"  # v1: the scheme of `tokens` alone
TOKENISER_SPOKEN = "edge-emotion/words-2"  # v2: `tokens`, then `spoken` (contractions, fillers, negation, intensifiers)
TOKENISERS = (TOKENISER, TOKENISER_SPOKEN)  # a model trained with another one is refused
# Words (letters, inner apostrophes: "can't"), numbers, and every other visible character alone ("!", "?", emoji).
TOKEN_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+|[^\w\s]", re.UNICODE)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def normalise(text: str) -> str:
    """NFKC (full-width forms, ligatures), lower case, one kind of apostrophe."""
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()


def tokens(text: str) -> list[str]:
    return TOKEN_RE.findall(normalise(text))


# -- v2: spoken and written English brought to one form -----------------------------------------------------------
# Contractions, also as a transcriber or a phone keyboard writes them without the apostrophe ("dont", "im").
_WHOLE = {"can't": "can not", "cannot": "can not", "won't": "will not", "shan't": "shall not", "ain't": "is not",
          "cant": "can not", "dont": "do not", "doesnt": "does not", "didnt": "did not", "isnt": "is not",
          "wasnt": "was not", "arent": "are not", "werent": "were not", "havent": "have not", "hasnt": "has not",
          "hadnt": "had not", "couldnt": "could not", "wouldnt": "would not", "shouldnt": "should not",
          "im": "i am", "ive": "i have", "youre": "you are", "theyre": "they are", "thats": "that is",
          "whats": "what is", "lets": "let us", "gonna": "going to", "wanna": "want to", "gotta": "got to",
          "y'all": "you all", "ya": "you", "u": "you", "ur": "your", "cuz": "because", "cos": "because",
          "'cause": "because", "ok": "okay", "k": "okay", "yeah": "yes", "yep": "yes", "yup": "yes", "nope": "no",
          "nah": "no", "omg": "oh my god", "idk": "i do not know", "lol": "haha", "lmao": "haha"}
_SUFFIX = (("n't", " not"), ("'re", " are"), ("'ve", " have"), ("'ll", " will"), ("'d", " would"), ("'m", " am"))
_IS = {"it's", "that's", "he's", "she's", "what's", "there's", "here's", "who's", "where's", "how's", "let's"}
# Hesitations carry no emotion in a transcript; "oh", "ah", "wow" do and stay.
FILLERS = frozenset("um umm uh uhh uhm erm er hmm hm mm mmm".split())
NEGATORS = frozenset("not no never nothing nobody none neither nor without hardly".split())
NEGATION_SCOPE = 3  # words after a negator that are marked ("not really happy" -> not~really, not~happy)
INTENSIFIERS = frozenset("so very really too extremely totally absolutely completely super incredibly such "
                         "utterly truly quite pretty".split())
# Words an intensifier's "+" mark skips: "so" is also a conjunction ("so i missed it"), "such" a determiner.
_UNMARKED = frozenset("i you he she we they it this that these those the a an my your his her our their what much "
                      "many if and or but to of in on at for with me him them us is am are was were be do did".split())
_EMOTICONS = {":)": "\U0001F642", ":-)": "\U0001F642", ":d": "\U0001F600", ":(": "\U0001F641", ":-(": "\U0001F641",
              ":'(": "\U0001F622", ";)": "\U0001F609", ":p": "\U0001F61B", ":o": "\U0001F62E", "<3": "\u2764"}
_EMOTICON_RE = re.compile("|".join(re.escape(e) for e in sorted(_EMOTICONS, key=len, reverse=True)))
_REPEAT_RE = re.compile(r"([^\W\d_])\1{2,}")  # "soooo" -> "soo": elongations of one word share a form
_EMOJI_MODIFIERS = dict.fromkeys(list(range(0x1F3FB, 0x1F400)) + [0xFE0F, 0xFE0E, 0x200D])  # skin tones, variation


def _expand(tok: str) -> list[str]:
    if tok in _WHOLE:
        return _WHOLE[tok].split()
    if tok in _IS:
        return [tok[:-2], "is"] if tok != "let's" else ["let", "us"]
    for suf, rep in _SUFFIX:
        if tok.endswith(suf) and len(tok) > len(suf):
            return [tok[:-len(suf)], *rep.split()]
    if tok.endswith("'s"):  # possessive: "john's" -> "john"
        return [tok[:-2]]
    return [tok]


# The parts of v2, each of which the feature ablation can leave out (`train-text --linear --spoken-without`); a
# shipped v2 model always has them all.
SPOKEN_PARTS = frozenset({"contractions", "fillers", "repeats", "negation", "intensifiers", "emoticons"})


def spoken(toks: Sequence[str], parts: frozenset[str] = SPOKEN_PARTS) -> list[str]:
    """v2 tokens: contractions expanded, fillers dropped, letters repeated 3+ times cut to two, and the words after a
    negator (up to NEGATION_SCOPE, or the next punctuation) marked "not~word"; a word after an intensifier gains a
    second token "+word" ("so angry" -> so, angry, +angry)."""
    out: list[str] = []
    neg, intense = 0, False
    expand = _expand if "contractions" in parts else (lambda t: [t])
    negation, intensifiers = "negation" in parts, "intensifiers" in parts
    fillers = FILLERS if "fillers" in parts else frozenset()
    for raw in toks:
        for t in expand(_REPEAT_RE.sub(r"\1\1", raw) if "repeats" in parts else raw):
            if t in fillers:
                continue
            if not t[0].isalpha():  # punctuation, numbers, emoji end a negation's scope
                neg, intense = 0, False
                out.append(t)
                continue
            if neg and t not in NEGATORS:
                out.append("not~" + t)
                neg -= 1
            else:
                out.append(t)
            if intense and t not in INTENSIFIERS and t not in _UNMARKED and not neg:
                out.append("+" + t)
            intense = t in INTENSIFIERS
            if t in NEGATORS and negation:
                neg = NEGATION_SCOPE
            intense = intense and intensifiers
    return out


def tokens_for(text: str, tokeniser: str, parts: frozenset[str] = SPOKEN_PARTS) -> list[str]:
    """The tokens a model trained with `tokeniser` reads."""
    if tokeniser == TOKENISER:
        return tokens(text)
    text = normalise(text)
    if "emoticons" in parts:
        text = _EMOTICON_RE.sub(lambda m: " " + _EMOTICONS[m.group()] + " ", text.translate(_EMOJI_MODIFIERS))
    return spoken(TOKEN_RE.findall(text), parts)


def char_ngrams(toks: Sequence[str], lo: int, hi: int) -> Iterable[str]:
    """Letter n-grams of `lo`..`hi` inside each word padded with '<' and '>' ("<ang", "ngry>"), so misspellings and
    unseen forms share features with known words; marked words ("not~x", "+x") give none."""
    for t in toks:
        if not t[0].isalpha() or "~" in t:
            continue
        w = "<" + t + ">"
        for n in range(lo, hi + 1):
            for i in range(len(w) - n + 1):
                yield "#" + w[i:i + n]


def ngrams(toks: Sequence[str], n_max: int, prefix_chars: int = 0, chars: tuple[int, int] = (0, 0)) -> Iterable[str]:
    """Unigrams, then bigrams (joined by a space), ... up to `n_max`; then, with `prefix_chars`, the first that many
    letters of each longer word followed by '~' ("disgusting" -> "disgu~"), so word forms share a feature; then,
    with `chars` (lo, hi), letter n-grams (char_ngrams)."""
    for n in range(1, n_max + 1):
        for i in range(len(toks) - n + 1):
            yield " ".join(toks[i:i + n])
    if prefix_chars:
        for t in toks:
            if len(t) > prefix_chars and t[0].isalpha() and "~" not in t:
                yield t[:prefix_chars] + "~"
    if chars[0]:
        yield from char_ngrams(toks, chars[0], chars[1])


@dataclass(frozen=True)
class TextSpec:
    """How text becomes the input vector; written into the sidecar's `preprocess` by training."""

    vocabulary: str  # file name beside the model: "<n-gram>\t<idf>" per line, the line number is the feature index
    vocabulary_sha256: str
    size: int  # features = lines of the vocabulary = the model's input width
    ngram_max: int = 2
    max_tokens: int = 64  # longer texts are cut here (and the result says so)
    sublinear_tf: bool = True  # 1 + log(count), as the idf weighting is trained
    tokeniser: str = TOKENISER
    prefix_chars: int = 0  # word-prefix features (see ngrams); 0: none
    char_min: int = 0  # letter n-grams of char_min..char_max inside words (char_ngrams); 0: none
    char_max: int = 0
    # The letter n-grams ("#..." entries) are L2-normalised apart from the rest and scaled to this length, so that a
    # word's ten-odd letter n-grams do not drown its word and word-pair features; 0: one vector, normalised once.
    char_weight: float = 0.0

    @property
    def chars(self) -> tuple[int, int]:
        return self.char_min, self.char_max

    @classmethod
    def from_dict(cls, d: dict) -> "TextSpec":
        return cls(str(d["vocabulary"]), str(d["vocabulary_sha256"]), int(d["size"]), int(d.get("ngram_max", 2)),
                   int(d.get("max_tokens", 64)), bool(d.get("sublinear_tf", True)), str(d.get("tokeniser", TOKENISER)),
                   int(d.get("prefix_chars", 0)), int(d.get("char_min", 0)), int(d.get("char_max", 0)),
                   float(d.get("char_weight", 0.0)))

    def to_dict(self) -> dict:
        return {"tokeniser": self.tokeniser, "vocabulary": self.vocabulary, "vocabulary_sha256": self.vocabulary_sha256,
                "size": self.size, "ngram_max": self.ngram_max, "max_tokens": self.max_tokens,
                "sublinear_tf": self.sublinear_tf, "prefix_chars": self.prefix_chars, "char_min": self.char_min,
                "char_max": self.char_max, "char_weight": self.char_weight}


def write_vocabulary(path: str | Path, terms: Sequence[str], idf: Sequence[float]) -> str:
    """Write the vocabulary file; returns its sha256 for the description."""
    lines = "".join(f"{t}\t{w:.6f}\n" for t, w in zip(terms, idf))
    data = lines.encode("utf-8")
    Path(path).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


class Vectoriser:
    """Loads the vocabulary once; `vector(text)` gives the L2-normalised tf-idf n-gram vector the model takes."""

    def __init__(self, spec: TextSpec, terms: Sequence[str], idf: np.ndarray) -> None:
        if spec.tokeniser not in TOKENISERS:
            raise ValueError(f"tokeniser {spec.tokeniser!r} is not one of this runtime's {TOKENISERS}; use a text "
                             "model trained with this version of edge-emotion")
        if len(terms) != spec.size:
            raise ValueError(f"vocabulary has {len(terms)} entries, the description says {spec.size}")
        self.spec = spec
        self.index = {t: i for i, t in enumerate(terms)}
        self.idf = np.asarray(idf, np.float32)
        self.is_char = np.array([t.startswith("#") for t in terms], bool) if spec.char_weight else None
        self.parts = SPOKEN_PARTS  # fewer only in train-text's feature ablation

    @classmethod
    def load(cls, spec: TextSpec, model_dir: str | Path) -> "Vectoriser":
        path = Path(model_dir) / spec.vocabulary
        try:
            data = path.read_bytes()
        except OSError as e:
            raise FileNotFoundError(f"text vocabulary {path} not readable ({e}); it ships beside the text model") from None
        if hashlib.sha256(data).hexdigest() != spec.vocabulary_sha256:
            raise ValueError(f"{path}: its sha256 differs from the model description's; the vocabulary belongs to "
                             "another model (copy the model, its .json and its vocabulary together)")
        terms, idf = [], []
        for line in data.decode("utf-8").splitlines():
            term, _, weight = line.rpartition("\t")
            terms.append(term)
            idf.append(float(weight))
        return cls(spec, terms, np.asarray(idf, np.float32))

    def counts(self, toks: Sequence[str]) -> dict[int, int]:
        """Feature index -> count, over the n-grams of `toks`."""
        out: dict[int, int] = {}
        for g in ngrams(toks, self.spec.ngram_max, self.spec.prefix_chars, self.spec.chars):
            i = self.index.get(g)
            if i is not None:
                out[i] = out.get(i, 0) + 1
        return out

    def tokens(self, text: str) -> list[str]:
        """The tokens this model reads from `text` (not yet cut to max_tokens)."""
        return tokens_for(text, self.spec.tokeniser, self.parts)

    def weights(self, toks: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The non-zero entries of the input vector: (feature indices, L2-normalised tf-idf weights)."""
        c = self.counts(toks)
        idx = np.fromiter(c.keys(), np.int64, len(c))
        tf = np.fromiter(c.values(), np.float32, len(c))
        if self.spec.sublinear_tf and len(tf):
            tf = 1.0 + np.log(tf)
        w = tf * self.idf[idx]
        if self.is_char is None:
            return idx, w / max(math.sqrt(float(w @ w)), 1e-12)
        char = self.is_char[idx]
        for part, length in ((~char, 1.0), (char, self.spec.char_weight)):
            w[part] *= length / max(math.sqrt(float(w[part] @ w[part])), 1e-12)
        return idx, w

    def vector(self, toks: Sequence[str]) -> np.ndarray:
        """The model input for one token list (already cut to max_tokens)."""
        x = np.zeros(self.spec.size, np.float32)
        idx, w = self.weights(toks)
        x[idx] = w
        return x
