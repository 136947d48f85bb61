"""Is this text English? Script and function words, so the English-only model does not guess on other languages.

Function words are the most frequent words of a language and occur in almost every sentence of it; a word
that is also common in English ("a", "die", "in", "is", "me", "no", "son", "on") is left out of the other
lists. Texts with no function words at all (names, slogans, "GINO!!!") are given the benefit of the doubt.
"""

from __future__ import annotations

import unicodedata
from typing import Sequence

ENGLISH = frozenset("""
i me my you your he she him her his it its we us our they them their this that these those
is am are was were be been being have has had do does did not no yes and or but if so because
the a an of to in on at for with from by about as into than then there here what which who whom
why how when where can can't could would should will won't don't doesn't didn't isn't aren't
i'm i've i'll i'd you're it's that's there's let's just very really all some any more most
""".split())

OTHERS = {
    "de": frozenset("""
        ich du er sie wir ihr mich mir dich dir uns euch ist sind bin bist war waren habe hast hat haben
        nicht nein ja und oder aber wenn weil dass das der den dem des ein eine einen einem einer ist
        mit von zu zum zur auf für aus bei nach über unter wie was wer warum wo sehr auch noch schon nur
        heute morgen gestern kein keine meine meiner mein dein sein ihre unser
    """.split()),
    "fr": frozenset("""
        je tu il elle nous vous ils elles moi toi lui est sont suis es était être avoir ai as avons
        pas ne oui et ou mais si parce que qui quoi où pourquoi comment quand le la les un une des du
        au aux avec pour dans sur sans rien très aussi encore déjà seulement c'est n'est je suis mon ma mes
        ton ta tes leur leurs ce cette ces à ça
    """.split()),
    "es": frozenset("""
        yo tú él ella nosotros vosotros ellos ellas soy eres es somos son estoy está están era fue
        sí y o pero porque que qué quién dónde cómo cuándo el la los las un una unos unas del al con
        para por sin muy también ya solo hoy ayer mañana mi mis tu tus su sus nuestro otra otro vez
        puedo creer hay esto eso esta este
    """.split()),
    "it": frozenset("""
        io tu lui lei noi voi loro sono sei è siamo siete ero era essere avere ho hai ha abbiamo
        non sì e o ma perché che chi dove come quando il lo la gli le un una uno del della dei delle
        con per senza molto anche già solo oggi ieri domani mio mia miei tuo tua suo sua questo questa
    """.split()),
    "pt": frozenset("""
        eu você ele ela nós vocês eles elas sou é somos são estou está estão era foi ser ter tenho
        não sim e ou mas porque que quem onde como quando o os as um uma uns umas do da dos das ao
        com para por sem muito também já só hoje ontem amanhã meu minha seu sua isso isto esse essa
    """.split()),
    "nl": frozenset("""
        ik jij je hij zij wij jullie mij mijn jouw zijn haar ons onze ben bent heb hebt heeft hebben
        was waren niet nee ja en of maar als omdat dat de het een van met voor op naar bij uit over
        wat wie waarom waar hoe wanneer heel ook nog al alleen vandaag gisteren morgen geen deze dit
    """.split()),
}
# Words of the lists above that English shares or that English-speaking writers use ("war", "hat", "ya", "ha",
# "un", single letters); they say nothing about the language.
SHARED = ENGLISH | frozenset("war hat bin ha ho o e un ya son die mi tu".split())
OTHERS = {lang: words - SHARED for lang, words in OTHERS.items()}
MIN_FOREIGN = 2  # one stray foreign word ("la", "vez") in an English sentence is not another language


def latin_share(text: str) -> float:
    """Share of the letters that are Latin script (1.0 when there are no letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 1.0
    return sum(1 for ch in letters if unicodedata.name(ch, "").startswith("LATIN")) / len(letters)


def is_english(text: str, tokens: Sequence[str]) -> tuple[bool, str | None]:
    """(English or unknown, the language it looks like otherwise)."""
    if latin_share(text) < 0.5:
        return False, "not Latin script"
    english = sum(1 for t in tokens if t in ENGLISH)
    counts = {lang: sum(1 for t in tokens if t in words) for lang, words in OTHERS.items()}
    lang, foreign = max(counts.items(), key=lambda kv: kv[1])
    if foreign >= MIN_FOREIGN and foreign > english:
        return False, lang
    return True, None
