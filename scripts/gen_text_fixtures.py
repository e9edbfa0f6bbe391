#!/usr/bin/env python3
"""Generate the scikit-learn / Snowball / Python-Unicode parity fixtures of TriageText.

Run it through ``scripts/gen-fixtures`` (which makes the pinned virtual environment);
running this file with another interpreter refuses unless the pinned versions are installed.

Writes, under Tests/TriageTextTests/Fixtures/ (described in the README.md there):

  vectorizer_parity.json   CountVectorizer + TfidfTransformer cases (scikit-learn 1.9.1)
  stemmer_english.tsv      word<TAB>stem, Snowball english (snowballstemmer 2.2.0)
  stemmer_german.tsv       word<TAB>stem, Snowball german  (snowballstemmer 2.2.0)
  stemmer_algorithms.json  sb_stemmer_list() of the system libstemmer
  python_unicode.json      Python's \\w, \\s, \\d, lower() and strip_accents tables

Everything is sorted and carries no timestamp, so a re-run is byte-identical.
"""

from __future__ import annotations

import argparse
import collections
import csv
import ctypes
import ctypes.util
import gzip
import importlib.metadata
import importlib.resources
import itertools
import json
import math
import platform
import re
import sys
import unicodedata
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "Tests" / "TriageTextTests" / "Fixtures"
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"

PINNED = {
    "scikit-learn": "1.9.1",
    "numpy": "2.4.6",
    "scipy": "1.17.1",
    "snowballstemmer": "2.2.0",
    "pyspellchecker": "0.9.1",
}

VERBOSE = False
ENGLISH_WORDS = 20000  # most frequent corpus words in stemmer_english.tsv
GERMAN_WORDS = 25000  # most frequent pyspellchecker German words in stemmer_german.tsv

csv.field_size_limit(1 << 30)


def fail(message: str) -> None:
    print(f"gen_text_fixtures: error: {message}", file=sys.stderr)
    sys.exit(1)


def check_versions() -> None:
    for name, want in PINNED.items():
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            have = None
        if have != want:
            fail(f"{name}=={want} required, found {have}; run scripts/gen-fixtures")


# ---------------------------------------------------------------------------
# Output: deterministic JSON, compact leaves, one container element per line.
# ---------------------------------------------------------------------------

ONE_PER_LINE_STRING_LISTS = {"documents", "transform_documents"}


def _scalar(o) -> bool:
    return o is None or isinstance(o, (bool, int, float, str))


def _enc(o) -> str:
    if isinstance(o, float) and not math.isfinite(o):
        raise ValueError("non-finite float in fixture")
    return json.dumps(o, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _fmt(o, depth: int, key: str | None) -> str:
    pad = " " * depth
    if isinstance(o, dict):
        if not o:
            return "{}"
        items = [f'{pad} {_enc(k)}: {_fmt(o[k], depth + 1, k)}' for k in sorted(o)]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(o, (list, tuple)):
        if not o:
            return "[]"
        if all(_scalar(x) for x in o) and key not in ONE_PER_LINE_STRING_LISTS:
            return _enc(list(o))
        items = [f"{pad} {_fmt(x, depth + 1, None)}" for x in o]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    assert _scalar(o), type(o)
    return _enc(o)


def write_json(path: Path, obj) -> None:
    text = _fmt(obj, 0, None) + "\n"
    json.loads(text)  # well-formed
    write_text(path, text)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    path.write_bytes(data)
    print(f"  wrote {path.relative_to(REPO)} ({len(data):,} bytes)")


# ---------------------------------------------------------------------------
# The text set (the project's own text; committed inside vectorizer_parity.json).
# Invisible or normalisation-sensitive characters are written as escapes.
# ---------------------------------------------------------------------------

LONG_WORD = "abcdefghij" * 30  # a 300-character word
LONG_WORD_2 = "xyz" * 100  # another 300-character word (transform only)

DOCUMENTS = [
    # customer-service messages
    "My card hasn't arrived yet. When will my new card arrive?",
    "How do I reset my password? I can't log in to my account.",
    "I was charged twice for my order. Please refund the extra charge.",
    "Can I change the delivery address for my order #48213?",
    "The app keeps crashing when I open my settings page.",
    "Please cancel my subscription, I don't need it anymore.",
    "Where is my refund? It has been 10 days since I returned the item.",
    "My package arrived damaged and the box was crushed.",
    "I'd like to upgrade my plan to the premium tier.",
    "Why was my payment declined? My card works everywhere else.",
    "How do I update my e-mail address? The old one is jane.doe@example.com",
    "Contact my team at support-team@triage.example.org or call +1 (555) 010-2024.",
    "The order was late, the order was wrong, and the order was cold.",
    "refund refund refund REFUND Refund",
    "My browser says your page https://www.example.com/account/settings?tab=billing&lang=en#section-2 shows error 404.",
    "My invoice 2024-0117: total 1,000,000 units at 3.14 each? That can't be right.",
    "I can\u2019t find the cancel button anywhere in my app.",
    "Don't charge my card again. DON'T!",
    "The self-service portal is down; re-login doesn't help my case at all.",
    "snake_case_word and __init__ appear in my error log.",
    "Is there a fee for transferring my money abroad?",
    "I lost my card yesterday, please block it immediately.",
    "My account was locked after three failed login attempts.",
    "Can you send me a copy of my last invoice?",
    "The delivery driver left my parcel at the wrong address.",
    "How long does a refund usually take to show on my statement?",
    "I want to close my account and withdraw my balance.",
    "The discount code SAVE20 is not working at checkout for my basket.",
    "My order says delivered but I never received it.",
    "Could you please explain the extra fee on my bill?",
    "Thanks, the issue with my account is resolved now!",
    "Is it possible to pay with Apple Pay or Google Pay?",
    "Where can I download my monthly statement as a PDF?",
    "The tracking number of my parcel doesn't work on the courier's website.",
    "My top-up failed but the money left my bank account.",
    "I received the wrong size, can I exchange it for a larger one?",
    "Please update the phone number on my account to 555-0199.",
    "The card payment went through twice at the same shop on my statement.",
    "Why is my transfer still pending after two days?",
    "I need help setting up two-factor authentication on my phone.",
    "Can I get a refund for my unused gift card?",
    "Your customer service line kept me on hold for 45 minutes.",
    "My virtual card is not accepted by the online store.",
    "The exchange rate you applied to my payment looks wrong.",
    "I'd like to change my PIN, how do I do that?",
    "The item in my order is out of stock, when will it be available?",
    "Can I add a second cardholder to my account?",
    "I forgot my password and the reset e-mail never arrived.",
    "My product stopped working after one week; I want a replacement.",
    "Cancel my order 48213 please, I ordered the wrong colour.",
    # German (for the german stemmer cases; umlauts and eszett in NFC)
    "Ich m\u00f6chte meine Bestellung stornieren, weil die Lieferung zu sp\u00e4t kam.",
    "Die Rechnung f\u00fcr meine letzte Bestellung ist leider falsch.",
    "Wir haben die Pakete gestern erhalten, aber zwei Pakete waren besch\u00e4digt.",
    "K\u00f6nnen Sie mir bitte die Gr\u00f6\u00dfe der Schuhe best\u00e4tigen?",
    "Meine Karte wurde gesperrt, und ich kann nicht mehr bezahlen.",
    "\u00dcBER die Stra\u00dfe liefern Sie nicht? Das ist f\u00fcr mich \u00e4rgerlich.",
    "Die Lieferungen kommen immer sp\u00e4ter als versprochen; die Kunden beschweren sich.",
    "Gr\u00f6\u00dfe, Gr\u00f6\u00dfen und gr\u00f6\u00dfere Schuhe: Fu\u00dfball-Schuhe f\u00fcr Kinder.",
    # edge cases
    "",
    "   ",
    "\t\n",
    "\u00a0\u2003",
    "a",
    "I",
    "x y z 7",
    "?!...,;: --- *** /// ()",
    "Token " + LONG_WORD,
    "Numbers: 2024 3.14 1,000,000 \u00bd \u00b2 \u216b \u0663\u0664 \uff11\uff12\uff13 007 0x1F",
    "Tabs\there,\nnewlines\r\nand   runs   of    spaces\t\tend",
    "non\u00a0breaking\u2003em\u3000ideographic\u001cfile\u001dsep\u0085nel\u200bzero\u2028line",
    "caf\u00e9 Caf\u00e9 CAF\u00c9 cafe\u0301 na\u00efve nai\u0308ve r\u00e9sum\u00e9",
    "\u0130stanbul \u0131i \u0130I Diyarbak\u0131r",
    "\u039f\u0394\u039f\u03a3 \u039f\u0394\u039f\u03a3. \u03a3\u0391\u03a3 \u03c3\u03b1\u03c2 \u03a3",
    "\u041f\u0440\u0438\u0432\u0435\u0442! \u041c\u043e\u0439 \u0437\u0430\u043a\u0430\u0437 \u043d\u0435 "
    "\u043f\u0440\u0438\u0448\u0451\u043b. \u0413\u0434\u0435 \u043c\u043e\u0439 \u0437\u0430\u043a\u0430\u0437? "
    "\u0401\u041b\u041a\u0410",
    "\u6771\u4eac\u306f\u6674\u308c\u3002\u6ce8\u6587\u756a\u53f7\u306f\uff11\uff12\uff13\u3067\u3059\u3002",
    "\u0645\u0631\u062d\u0628\u0627\u060c \u0623\u064a\u0646 \u0637\u0644\u0628\u064a\u061f \u0634\u0643\u0631\u0627",
    "Great service \U0001F44D\U0001F3FD\U0001F44D family \U0001F468\u200d\U0001F469\u200d\U0001F467 "
    "\u2764\ufe0f \U0001F1E9\U0001F1EA ok\U0001F44C",
    "\ufb01nance \ufb02ight \ufb00 \ufb03 o\ufb03ce",
    "\uff21\uff22\uff23 \uff41\uff42\uff43 \uff34\uff52\uff49\uff41\uff47\uff45 full-width",
    "Roman numerals \u2160 \u2161 \u216b \u217b chapter \u2163",
    "\u0301 \u0308x standalone marks a\u0323\u0302",
    "300 \u212a (\u212aelvin sign) and long \u017f in \u017fome; \u01c5 titlecase; \u00b5 micro",
    "don't can\u2019t won't it's O'Brien rock'n'roll",
    "hyphen-ated well-known e-mail co-operate \u2013 \u2014 \u2010 dashes",
]

TRANSFORM_DOCUMENTS = [
    "My new card arrived today, thank you!",
    "I was charged three times; please refund refund refund.",
    "",
    " \t\r\n\u00a0\u3000",
    "b",
    "Another long token " + LONG_WORD_2 + " and https://shop.example.net/orders/48213?ref=mail",
    "Numbers 2025 2.718 12,345 \u00be \u00b3 \u2167 \u0665 \uff14\uff15\uff16",
    "snake_case_word again and ___",
    "can\u2019t don't shouldn't",
    "well-being self-check-in",
    "write to help@example.com now",
    "line one\r\nline two\tcol\u2003em\u001cfs\u0085",
    "Caf\u00e9 cafe\u0301 CAFE\u0301 cr\u00e8me br\u00fbl\u00e9e",
    "Die Gr\u00f6\u00dfe passt nicht, bitte Stra\u00dfe pr\u00fcfen. \u00dcBER f\u00fcr",
    "\u0130zmir \u0130STANBUL \u0131spanak",
    "\u039f\u0394\u039f\u03a3 \u03a3 \u039f\u0394\u039f\u03a3 \u039f\u0394\u039f\u03a3\u03a3",
    "\u0421\u043f\u0430\u0441\u0438\u0431\u043e, \u0437\u0430\u043a\u0430\u0437 \u043f\u0440\u0438\u0448\u0451\u043b",
    "\u5927\u962a\u306f\u96e8",
    "\u0634\u0643\u0631\u0627 \u062c\u0632\u064a\u0644\u0627",
    "\U0001F44D\U0001F3FF \U0001F469\u200d\U0001F4BB \U0001F3F3\ufe0f\u200d\U0001F308",
    "\ufb01le \ufb02ow",
    "\uff38\uff39\uff3a \uff58\uff59\uff5a",
    "\u2168 \u2178",
    "\u0300 e\u0300",
    "!!!???",
    "Ich habe meine Pakete noch nicht erhalten.",
    "Kelvin \u212a \u017f",
]


def check_text_set() -> None:
    both = (DOCUMENTS, TRANSFORM_DOCUMENTS)
    probes = {
        "empty": lambda d: d == "",
        "whitespace-only": lambda d: d != "" and d.isspace(),
        "single character": lambda d: len(d) == 1,
        "300-character word": lambda d: any(len(t) >= 300 for t in d.split()),
        "URL": lambda d: "https://" in d,
        "e-mail": lambda d: re.search(r"\w@\w", d) is not None,
        "underscore": lambda d: "_" in d,
        "apostrophe U+2019": lambda d: "\u2019" in d,
        "apostrophe": lambda d: "'" in d,
        "hyphen": lambda d: re.search(r"\w-\w", d) is not None,
        "repeated word": lambda d: max(collections.Counter(d.lower().split()).values(), default=0) > 1,
        "tab": lambda d: "\t" in d,
        "CRLF": lambda d: "\r\n" in d,
        "U+00A0": lambda d: "\u00a0" in d,
        "U+2003": lambda d: "\u2003" in d,
        "U+3000": lambda d: "\u3000" in d,
        "U+001C": lambda d: "\u001c" in d,
        "NFC accent": lambda d: "\u00e9" in d,
        "NFD accent": lambda d: "e\u0301" in d or "E\u0301" in d or "e\u0300" in d,
        "eszett": lambda d: "\u00df" in d,
        "umlaut": lambda d: "\u00f6" in d,
        "dotted I": lambda d: "\u0130" in d,
        "Greek sigma": lambda d: "\u03a3" in d,
        "Cyrillic": lambda d: re.search("[\u0400-\u04ff]", d) is not None,
        "CJK": lambda d: re.search("[\u4e00-\u9fff]", d) is not None,
        "Arabic": lambda d: re.search("[\u0600-\u06ff]", d) is not None,
        "emoji skin tone": lambda d: re.search("[\U0001F3FB-\U0001F3FF]", d) is not None,
        "ZWJ": lambda d: "\u200d" in d,
        "ligature": lambda d: re.search("[\ufb00-\ufb06]", d) is not None,
        "full-width": lambda d: re.search("[\uff21-\uff5a]", d) is not None,
        "Roman numeral": lambda d: re.search("[\u2160-\u217f]", d) is not None,
        "lone combining mark": lambda d: re.search(r"(^|\s)[\u0300-\u036f]", d) is not None,
        "digits": lambda d: re.search(r"\d", d) is not None,
        "non-ASCII digits": lambda d: re.search(r"[\u0660-\u0669\uff10-\uff19]", d) is not None,
        "vulgar fraction/superscript": lambda d: re.search("[\u00b2\u00b3\u00bc-\u00be]", d) is not None,
        "punctuation-only": lambda d: d != "" and not d.isspace() and re.search(r"\w", d) is None,
        "Kelvin sign": lambda d: "\u212a" in d,
    }
    for name, probe in probes.items():
        for which, docs in zip(("documents", "transform_documents"), both):
            if not any(probe(d) for d in docs):
                fail(f"text set: no {name} case in {which}")
    if len(set(DOCUMENTS)) != len(DOCUMENTS) or len(set(TRANSFORM_DOCUMENTS)) != len(TRANSFORM_DOCUMENTS):
        fail("text set: duplicate documents")


# ---------------------------------------------------------------------------
# Snowball: pure-Python snowballstemmer 2.2.0 and the system libstemmer (ctypes).
# ---------------------------------------------------------------------------

def snowball(name: str):
    """The pure-Python stemmer of snowballstemmer (never PyStemmer's C extension,
    which snowballstemmer.stemmer() would prefer when it happens to be installed)."""
    import snowballstemmer

    cls = getattr(snowballstemmer, name.capitalize() + "Stemmer", None)
    if cls is None:
        fail(f"snowballstemmer has no {name} stemmer")
    return cls()


class LibStemmer:
    NAMES = ("libstemmer.so.0d", "libstemmer.so.0", "libstemmer.so")

    def __init__(self) -> None:
        lib = None
        for name in self.NAMES + tuple(filter(None, [ctypes.util.find_library("stemmer")])):
            try:
                lib = ctypes.CDLL(name)
                self.path = name
                break
            except OSError:
                continue
        if lib is None:
            fail("libstemmer not found; install Debian's libstemmer0d (scripts/install-deps libstemmer-dev)")
        lib.sb_stemmer_list.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.sb_stemmer_list.argtypes = []
        lib.sb_stemmer_new.restype = ctypes.c_void_p
        lib.sb_stemmer_new.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.sb_stemmer_delete.restype = None
        lib.sb_stemmer_delete.argtypes = [ctypes.c_void_p]
        lib.sb_stemmer_stem.restype = ctypes.POINTER(ctypes.c_ubyte)
        lib.sb_stemmer_stem.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.sb_stemmer_length.restype = ctypes.c_int
        lib.sb_stemmer_length.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.stemmers = {}

    def algorithms(self) -> list[str]:
        out = []
        names = self.lib.sb_stemmer_list()
        i = 0
        while names[i] is not None:
            out.append(names[i].decode("ascii"))
            i += 1
        return sorted(out)

    def stem(self, algorithm: str, word: str) -> str:
        st = self.stemmers.get(algorithm)
        if st is None:
            st = self.lib.sb_stemmer_new(algorithm.encode("ascii"), b"UTF_8")
            if not st:
                fail(f"libstemmer: sb_stemmer_new({algorithm!r}, 'UTF_8') failed")
            self.stemmers[algorithm] = st
        data = word.encode("utf-8")
        ptr = self.lib.sb_stemmer_stem(st, data, len(data))
        if not ptr:
            fail(f"libstemmer: out of memory stemming {word!r}")
        return ctypes.string_at(ptr, self.lib.sb_stemmer_length(st)).decode("utf-8")


# ---------------------------------------------------------------------------
# Fixture 1: CountVectorizer / TfidfTransformer parity.
# ---------------------------------------------------------------------------

DEFAULT_PATTERN = r"(?u)\b\w\w+\b"

DEFAULT_CONFIG = {
    "analyzer": "word",
    "ngram_range": [1, 1],
    "lowercase": True,
    "strip_accents": None,
    "token_pattern": DEFAULT_PATTERN,
    "stop_words": None,
    "stemmer": None,
    "min_df": 1,
    "max_df": 1.0,
    "max_features": None,
    "binary": False,
    "vocabulary": None,
}

# norm x use_idf x smooth_idf x sublinear_tf; the first one is scikit-learn's default.
TFIDF_COMBOS = [
    {"norm": norm, "use_idf": use_idf, "smooth_idf": smooth, "sublinear_tf": sublinear}
    for norm in ("l2", "l1", None)
    for use_idf in (True, False)
    for smooth in (True, False)
    for sublinear in (False, True)
]

ERROR_MESSAGES = [
    ("After pruning, no terms remain", "no_terms_remain"),
    ("max_df corresponds to < documents than min_df", "max_df_below_min_df"),
    ("empty vocabulary; perhaps the documents only contain stop words", "empty_vocabulary"),
    ("More than 1 capturing group in token pattern", "token_pattern_groups"),
]

# Custom stop lists. Upper case and accents are deliberate: Triage lower-cases and
# strips accents of stop words like documents; scikit-learn is given them preprocessed.
STOP_EN = ["the", "my", "I", "a", "to", "and", "is", "\u00dcber", "caf\u00e9", "order", "DON'T"]
STOP_DE = ["die", "der", "Die", "und", "ich", "f\u00fcr", "\u00dcber", "meine", "nicht", "sie"]


def T(norm, use_idf, smooth_idf, sublinear_tf):
    return {"norm": norm, "use_idf": use_idf, "smooth_idf": smooth_idf, "sublinear_tf": sublinear_tf}


class NoTie:
    """max_features: the smallest value >= k with no tie at the cut-off."""

    def __init__(self, k: int) -> None:
        self.k = k


class Tie:
    """max_features: the smallest value >= k with a tie at the cut-off."""

    def __init__(self, k: int) -> None:
        self.k = k


def case_specs():
    """(name, config overrides, tfidf or None (= next of the 24 combinations)) of every case."""
    S = []

    def c(name, tfidf=None, **cfg):
        S.append((name, cfg, tfidf))

    en, de = STOP_EN, STOP_DE
    # --- word analyzer: n-grams, lowercase, strip_accents
    c("word_defaults", tfidf=TFIDF_COMBOS[0])
    c("word_bigram", ngram_range=[1, 2])
    c("word_23", ngram_range=[2, 3])
    c("word_13", ngram_range=[1, 3])
    c("word_nolower", lowercase=False)
    c("word_nolower_bigram", lowercase=False, ngram_range=[1, 2])
    c("word_ascii", strip_accents="ascii")
    c("word_unicode", strip_accents="unicode")
    c("word_ascii_nolower_23", strip_accents="ascii", lowercase=False, ngram_range=[2, 3])
    c("word_unicode_nolower_bigram", strip_accents="unicode", lowercase=False, ngram_range=[1, 2])
    c("word_unicode_13_binary", strip_accents="unicode", ngram_range=[1, 3], binary=True)
    # --- stop words
    c("word_stopEnglish", stop_words="sklearn-english")
    c("word_stopEnglish_bigram", stop_words="sklearn-english", ngram_range=[1, 2])
    c("word_stopEnglish_13_minDf2", stop_words="sklearn-english", ngram_range=[1, 3], min_df=2)
    c("word_stopEnglish_nolower_ascii", stop_words="sklearn-english", lowercase=False, strip_accents="ascii")
    c("word_stopCustom", stop_words=en)
    c("word_stopCustom_nolower", stop_words=en, lowercase=False)
    c("word_stopCustom_ascii", stop_words=en, strip_accents="ascii")
    c("word_stopCustom_unicode_nolower", stop_words=en, strip_accents="unicode", lowercase=False)
    c("word_stopCustom_bigram_unicode", stop_words=en, strip_accents="unicode", ngram_range=[1, 2])
    c("word_stopCustomDe_23_ascii", stop_words=de, strip_accents="ascii", ngram_range=[2, 3])
    # --- token patterns
    c("word_patW1", token_pattern=r"(?u)\b\w+\b")
    c("word_patW1_bigram_nolower", token_pattern=r"(?u)\b\w+\b", ngram_range=[1, 2], lowercase=False)
    c("word_patW1_unicode_stopEnglish", token_pattern=r"(?u)\b\w+\b", strip_accents="unicode",
      stop_words="sklearn-english")
    c("word_patAlpha", token_pattern=r"[A-Za-z]+")
    c("word_patAlpha_nolower", token_pattern=r"[A-Za-z]+", lowercase=False)
    c("word_patAlpha_ascii_bigram", token_pattern=r"[A-Za-z]+", strip_accents="ascii", ngram_range=[1, 2])
    c("word_patNonSpace", token_pattern=r"\S+")
    c("word_patNonSpace_nolower_bigram", token_pattern=r"\S+", lowercase=False, ngram_range=[1, 2])
    c("word_patNonSpace_unicode", token_pattern=r"\S+", strip_accents="unicode")
    c("word_patNonSpace_ascii_stopCustom", token_pattern=r"\S+", strip_accents="ascii", stop_words=en)
    c("word_patDigits", token_pattern=r"\d+")
    c("word_patDigits_bigram_binary", token_pattern=r"\d+", ngram_range=[1, 2], binary=True)
    c("word_patGroup", token_pattern=r"(?u)\b(\w)\w*\b")
    c("word_patGroup_nolower_bigram", token_pattern=r"(?u)\b(\w)\w*\b", lowercase=False, ngram_range=[1, 2])
    c("word_patIgnoreCase", token_pattern=r"(?i)[a-z]{3,}")
    c("word_patIgnoreCase_nolower", token_pattern=r"(?i)[a-z]{3,}", lowercase=False)
    c("word_patIgnoreCase_ascii_nolower", token_pattern=r"(?i)[a-z]{3,}", lowercase=False, strip_accents="ascii")
    # --- min_df / max_df
    c("word_minDf2", min_df=2)
    c("word_minDf3", min_df=3)
    c("word_minDf2_l1_bigram", min_df=2, ngram_range=[1, 2])
    c("word_minDf0.0", min_df=0.0)
    c("word_minDf0.05", min_df=0.05)
    c("word_minDf0.2", min_df=0.2)
    c("word_minDf0.05_bigram_nolower", min_df=0.05, ngram_range=[1, 2], lowercase=False)
    c("word_maxDf0.9", max_df=0.9)
    c("word_maxDf0.5", max_df=0.5)
    c("word_maxDf0.5_minDf2_13", max_df=0.5, min_df=2, ngram_range=[1, 3])
    c("word_maxDfInt1", max_df=1)
    c("word_maxDfInt5", max_df=5)
    c("word_maxDfInt5_minDf2", max_df=5, min_df=2)
    c("word_maxDfInt1000_minDf0.0", max_df=1000, min_df=0.0)
    c("word_maxDf0.9_minDf3_stopEnglish", max_df=0.9, min_df=3, stop_words="sklearn-english")
    c("word_maxDf0.5_minDf0.05_unicode", max_df=0.5, min_df=0.05, strip_accents="unicode")
    c("word_maxDf0.5_minDf0.2_bigram", max_df=0.5, min_df=0.2, ngram_range=[1, 2])
    c("word_maxDfInt1_bigram_nolower", max_df=1, ngram_range=[1, 2], lowercase=False)
    c("word_maxDfInt1000_stopCustom_ascii", max_df=1000, stop_words=en, strip_accents="ascii")
    c("word_minDf0.0_maxDf0.9_patW1", min_df=0.0, max_df=0.9, token_pattern=r"(?u)\b\w+\b")
    # --- max_features (values chosen with no tie at the cut-off)
    c("word_maxFeatures5", max_features=NoTie(5))
    c("word_maxFeatures10_bigram", max_features=NoTie(10), ngram_range=[1, 2])
    c("word_maxFeatures20_minDf2", max_features=NoTie(20), min_df=2)
    c("word_maxFeatures3_maxDf0.5", max_features=NoTie(3), max_df=0.5)
    c("word_maxFeatures8_binary", max_features=NoTie(8), binary=True)
    c("word_maxFeatures50_stopEnglish_13", max_features=NoTie(50), stop_words="sklearn-english",
      ngram_range=[1, 3])
    c("word_tie_maxFeatures", max_features=Tie(10))
    c("word_tie_maxFeatures_binary_bigram", max_features=Tie(6), binary=True, ngram_range=[1, 2])
    # --- binary
    c("word_binary", binary=True)
    c("word_binary_nolower_23", binary=True, lowercase=False, ngram_range=[2, 3])
    # --- fixed vocabulary (unsorted, with absent terms)
    # (absent terms get df 0: with use_idf and not smooth_idf, scikit-learn's idf_ is inf, which
    # JSON cannot carry, so these cases name smooth or idf-free tf-idf settings)
    c("word_fixedVocab", tfidf=T("l1", True, True, True), vocabulary=["refund", "zebra", "card", "order", "the", "caf\u00e9", "___", "account"])
    c("word_fixedVocab_bigram_binary", tfidf=T(None, True, True, False), ngram_range=[1, 2], binary=True,
      vocabulary=["my card", "refund refund", "card", "not in any document", "the order", "my"])
    c("word_fixedVocab_uppercaseTerm", tfidf=T("l2", False, False, True), vocabulary=["Card", "card", "DON", "don"])
    c("word_fixedVocab_nolower_ascii", tfidf=T("l2", True, True, True), lowercase=False, strip_accents="ascii",
      vocabulary=["Cafe", "cafe", "CAFE", "Refund", "refund", "\u00dcBER", "UBER", "Strasse", "Strae"])
    # --- char analyzer
    c("char_11", analyzer="char", ngram_range=[1, 1])
    c("char_11_nolower_binary", analyzer="char", ngram_range=[1, 1], lowercase=False, binary=True)
    c("char_24", analyzer="char", ngram_range=[2, 4])
    c("char_24_ascii_minDf2", analyzer="char", ngram_range=[2, 4], strip_accents="ascii", min_df=2)
    c("char_35_unicode_nolower", analyzer="char", ngram_range=[3, 5], strip_accents="unicode", lowercase=False)
    c("char_35_minDf2_maxDf0.5", analyzer="char", ngram_range=[3, 5], min_df=2, max_df=0.5)
    c("char_24_maxFeatures", analyzer="char", ngram_range=[2, 4], max_features=NoTie(30))
    c("char_24_maxDf0.5_nolower", analyzer="char", ngram_range=[2, 4], max_df=0.5, lowercase=False)
    c("char_11_maxDfInt5_minDf0.05", analyzer="char", ngram_range=[1, 1], max_df=5, min_df=0.05)
    c("char_35_maxDfInt1000_minDf3_binary", analyzer="char", ngram_range=[3, 5], max_df=1000, min_df=3, binary=True)
    c("char_11_maxDfInt1_unicode", analyzer="char", ngram_range=[1, 1], max_df=1, strip_accents="unicode")
    c("char_11_fixedVocab", tfidf=T(None, False, True, True), analyzer="char", ngram_range=[1, 1],
      vocabulary=[" ", "\t", "\u00a0", "\u3000", "\u0301", "e", "\u00e9", "\u03c2", "\u03c3", "\u00df", "Q"])
    # --- char_wb analyzer
    c("charwb_13", analyzer="char_wb", ngram_range=[1, 3])
    c("charwb_25", analyzer="char_wb", ngram_range=[2, 5])
    c("charwb_33", analyzer="char_wb", ngram_range=[3, 3])
    c("charwb_13_unicode_nolower", analyzer="char_wb", ngram_range=[1, 3], strip_accents="unicode",
      lowercase=False)
    c("charwb_25_ascii_minDf0.05", analyzer="char_wb", ngram_range=[2, 5], strip_accents="ascii", min_df=0.05)
    c("charwb_33_binary_maxDfInt5", analyzer="char_wb", ngram_range=[3, 3], binary=True, max_df=5)
    c("charwb_33_maxFeatures_minDf3", analyzer="char_wb", ngram_range=[3, 3], max_features=NoTie(25), min_df=3)
    c("charwb_13_maxDf0.9", analyzer="char_wb", ngram_range=[1, 3], max_df=0.9)
    c("charwb_25_maxDf0.9_minDf0.2", analyzer="char_wb", ngram_range=[2, 5], max_df=0.9, min_df=0.2)
    c("charwb_33_maxDfInt1_minDf0.0_ascii", analyzer="char_wb", ngram_range=[3, 3], max_df=1, min_df=0.0,
      strip_accents="ascii")
    c("charwb_13_fixedVocab", tfidf=T("l1", True, True, False), analyzer="char_wb", ngram_range=[1, 3],
      vocabulary=[" a", "a ", " ", "a", " i ", "ca", "caf", "af\u00e9", "zz", " \u212a "])
    # --- Snowball stemming (Triage extension; scikit-learn driven through tokenizer=)
    c("stem_en", stemmer="english")
    c("stem_en_bigram_stopEnglish", stemmer="english", ngram_range=[1, 2], stop_words="sklearn-english")
    c("stem_en_stopCustom_ascii", stemmer="english", stop_words=en, strip_accents="ascii")
    c("stem_en_13_minDf2_maxDf0.5", stemmer="english", ngram_range=[1, 3], min_df=2, max_df=0.5)
    c("stem_de", stemmer="german")
    c("stem_de_bigram_stopCustom", stemmer="german", ngram_range=[1, 2], stop_words=de)
    c("stem_de_unicode_nolower_minDf2", stemmer="german", strip_accents="unicode", lowercase=False, min_df=2)
    c("stem_de_patW1_binary", stemmer="german", token_pattern=r"(?u)\b\w+\b", binary=True)
    c("stem_en_maxDfInt1000_minDf0.0_nolower", stemmer="english", max_df=1000, min_df=0.0, lowercase=False)
    return S


def error_specs():
    E = []

    def e(name, code, **cfg):
        E.append((name, cfg, code))

    e("error_minDf0.95_noTermsRemain", "no_terms_remain", min_df=0.95)
    e("error_char_minDf0.99_noTermsRemain", "no_terms_remain", analyzer="char", min_df=0.99)
    e("error_minDf5_maxDfInt3", "max_df_below_min_df", min_df=5, max_df=3)
    e("error_minDf0.5_maxDf0.2", "max_df_below_min_df", min_df=0.5, max_df=0.2)
    e("error_minDfInt1000", "max_df_below_min_df", min_df=1000)
    e("error_patternMatchesNothing_emptyVocabulary", "empty_vocabulary", token_pattern=r"(?u)\b\w{400,}\b")
    e("error_word_ngram40_emptyVocabulary", "empty_vocabulary", ngram_range=[40, 40])
    e("error_patTwoGroups", "token_pattern_groups", token_pattern=r"(\w)(\w+)")
    e("error_patTwoGroups_bigram", "token_pattern_groups", token_pattern=r"(?u)\b(\w)(\w)\w*\b",
      ngram_range=[1, 2])
    return E


def preprocess_fn(cfg):
    from sklearn.feature_extraction.text import strip_accents_ascii, strip_accents_unicode

    strip = {None: None, "ascii": strip_accents_ascii, "unicode": strip_accents_unicode}[cfg["strip_accents"]]

    def pre(s: str) -> str:
        if cfg["lowercase"]:
            s = s.lower()
        if strip is not None:
            s = strip(s)
        return s

    return pre


def stop_set(cfg):
    """The stop words as matched: Triage preprocesses its list like the documents."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    sw = cfg["stop_words"]
    if sw is None:
        return None
    if sw == "sklearn-english":
        return frozenset(ENGLISH_STOP_WORDS)
    pre = preprocess_fn(cfg)
    return frozenset(pre(w) for w in sw)


STEM_LOG: set[tuple[str, str]] = set()  # (algorithm, token) stemmed in the vectorizer cases


def make_vectorizer(cfg, vocabulary="config", max_features="config"):
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    kw = {
        "analyzer": cfg["analyzer"],
        "ngram_range": tuple(cfg["ngram_range"]),
        "lowercase": cfg["lowercase"],
        "strip_accents": cfg["strip_accents"],
        "min_df": cfg["min_df"],
        "max_df": cfg["max_df"],
        "max_features": cfg["max_features"] if max_features == "config" else max_features,
        "binary": cfg["binary"],
        "vocabulary": cfg["vocabulary"] if vocabulary == "config" else vocabulary,
        "dtype": np.int64,
        "token_pattern": cfg["token_pattern"],
        "stop_words": None,
    }
    if cfg["analyzer"] != "word":
        assert cfg["stop_words"] is None and cfg["stemmer"] is None and cfg["token_pattern"] == DEFAULT_PATTERN
    elif cfg["stemmer"] is not None:
        # Triage's order: preprocess -> tokenize -> drop stop words -> stem -> n-grams.
        pattern = re.compile(cfg["token_pattern"])
        stemmer = snowball(cfg["stemmer"])
        stops = stop_set(cfg) or frozenset()
        algorithm = cfg["stemmer"]

        def tokenize(doc):
            out = []
            for t in pattern.findall(doc):
                if t in stops:
                    continue
                STEM_LOG.add((algorithm, t))
                out.append(stemmer.stemWord(t))
            return out

        kw["tokenizer"] = tokenize
        kw["token_pattern"] = None
    elif cfg["stop_words"] == "sklearn-english":
        kw["stop_words"] = "english"
    elif cfg["stop_words"] is not None:
        kw["stop_words"] = sorted(stop_set(cfg))
    return CountVectorizer(**kw)


def error_code(exc: Exception) -> str | None:
    for needle, code in ERROR_MESSAGES:
        if needle in str(exc):
            return code
    return None


def select_vocabulary(analyzed, cfg, n_docs):
    """Triage's documented vocabulary rule, re-implemented: df filtering, then the
    max_features most frequent (total count of the -- possibly binarised -- matrix),
    ties by column order of the sorted vocabulary. Returns (terms, tie_at_cutoff)."""
    df = collections.Counter()
    tf = collections.Counter()
    for feats in analyzed:
        c = collections.Counter(feats)
        for t, n in c.items():
            df[t] += 1
            tf[t] += 1 if cfg["binary"] else n
    if not df:
        return "empty_vocabulary", False
    terms = sorted(df)  # code point order, as scikit-learn's sorted(vocabulary.items())
    high = cfg["max_df"] if isinstance(cfg["max_df"], int) else cfg["max_df"] * n_docs
    low = cfg["min_df"] if isinstance(cfg["min_df"], int) else cfg["min_df"] * n_docs
    if high < low:
        return "max_df_below_min_df", False
    kept = [t for t in terms if low <= df[t] <= high]
    tie = False
    k = cfg["max_features"]
    if k is not None and len(kept) > k:
        order = sorted(range(len(kept)), key=lambda i: (-tf[kept[i]], i))
        tie = tf[kept[order[k - 1]]] == tf[kept[order[k]]]
        kept = [kept[i] for i in sorted(order[:k])]
    if not kept:
        return "no_terms_remain", False
    return kept, tie


def resolve_max_features(cfg, analyzed, n_docs):
    """Turn NoTie(k)/Tie(k) into an int by scanning the sorted total counts."""
    mf = cfg["max_features"]
    if not isinstance(mf, (NoTie, Tie)):
        return
    probe = dict(cfg, max_features=None)
    kept, _ = select_vocabulary(analyzed, probe, n_docs)
    assert isinstance(kept, list), kept
    tf = collections.Counter()
    for feats in analyzed:
        for t, n in collections.Counter(feats).items():
            tf[t] += 1 if cfg["binary"] else n
    counts = sorted((tf[t] for t in kept), reverse=True)
    for m in range(mf.k, len(counts)):
        tie = counts[m - 1] == counts[m]
        if tie == isinstance(mf, Tie):
            cfg["max_features"] = m
            return
    fail(f"no suitable max_features >= {mf.k}")


def to_csr(X, integer: bool):
    import numpy as np
    import scipy.sparse as sp

    X = sp.csr_array(X, copy=True)
    X.sort_indices()
    assert X.has_canonical_format
    assert (X.data != 0).all(), "explicit zero in CSR"
    if integer:
        assert np.issubdtype(X.data.dtype, np.integer)
        data = [int(v) for v in X.data]
    else:
        assert X.data.dtype == np.float64
        data = [float(v) for v in X.data]
    return {
        "shape": [int(X.shape[0]), int(X.shape[1])],
        "indptr": [int(v) for v in X.indptr],
        "indices": [int(v) for v in X.indices],
        "data": data,
    }


def dense(csr):
    rows, cols = csr["shape"]
    out = [[0] * cols for _ in range(rows)]
    for r in range(rows):
        for p in range(csr["indptr"][r], csr["indptr"][r + 1]):
            out[r][csr["indices"][p]] = csr["data"][p]
    return out


def recount(analyzed, vocab, binary):
    index = {t: i for i, t in enumerate(vocab)}
    rows = []
    for feats in analyzed:
        row = [0] * len(vocab)
        for f in feats:
            if f in index:
                row[index[f]] = 1 if binary else row[index[f]] + 1
        rows.append(row)
    return rows


def tfidf_reference(counts_fit, counts, tfidf):
    """TF-IDF in plain Python floats, in scikit-learn's operation order."""
    n_docs = len(counts_fit)
    n_terms = len(counts_fit[0]) if counts_fit else 0
    idf = None
    if tfidf["use_idf"]:
        s = 1 if tfidf["smooth_idf"] else 0
        dfs = [sum(1 for row in counts_fit if row[j]) for j in range(n_terms)]
        idf = [math.log(float(n_docs + s) / float(df + s)) + 1.0 for df in dfs]
    out = []
    for row in counts:
        vals = {}
        for j, v in enumerate(row):
            if v:
                x = float(v)
                if tfidf["sublinear_tf"]:
                    x = math.log(x) + 1.0
                if idf is not None:
                    x *= idf[j]
                vals[j] = x
        if tfidf["norm"] == "l2":
            total = 0.0
            for x in vals.values():
                total += x * x
            if total != 0.0:
                total = math.sqrt(total)
                vals = {j: x / total for j, x in vals.items()}
        elif tfidf["norm"] == "l1":
            total = 0.0
            for x in vals.values():
                total += abs(x)
            if total != 0.0:
                vals = {j: x / total for j, x in vals.items()}
        out.append([vals.get(j, 0.0) for j in range(n_terms)])
    return idf, out


class FloatStats:
    def __init__(self):
        self.values = 0
        self.inexact = 0
        self.max_rel = 0.0

    def compare(self, got, want, what):
        for g, w in zip(got, want):
            self.values += 1
            if g != w:
                self.inexact += 1
                rel = abs(g - w) / max(abs(w), 1e-300)
                self.max_rel = max(self.max_rel, rel)
                if rel > 1e-12:
                    fail(f"{what}: {g!r} != {w!r}")


def build_vectorizer_fixture(report):
    import numpy as np
    import scipy
    import sklearn
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfTransformer

    n_docs = len(DOCUMENTS)
    cases = []
    floats = FloatStats()
    coverage = collections.defaultdict(collections.Counter)
    tie_reports = []
    prune_counts = []

    specs = case_specs()
    names = [s[0] for s in specs] + [s[0] for s in error_specs()]
    if len(set(names)) != len(names):
        fail("duplicate case names")

    combo_cycle = itertools.cycle(range(len(TFIDF_COMBOS)))
    next(combo_cycle)  # word_defaults takes combination 0 explicitly
    for name, overrides, tfidf in specs:
        print(f"  case {name}", file=sys.stderr) if VERBOSE else None
        cfg = dict(DEFAULT_CONFIG)
        cfg.update(overrides)
        if tfidf is None:
            tfidf = TFIDF_COMBOS[next(combo_cycle)]
        tfidf = dict(tfidf)

        analyzer = make_vectorizer(dict(cfg, max_features=None, vocabulary=None)).build_analyzer()
        analyzed = [list(analyzer(d)) for d in DOCUMENTS]
        analyzed_t = [list(analyzer(d)) for d in TRANSFORM_DOCUMENTS]
        resolve_max_features(cfg, analyzed, n_docs)
        tie_case = "_tie_" in name
        assert tie_case == isinstance(overrides.get("max_features"), Tie)

        vec = make_vectorizer(cfg)
        X = vec.fit_transform(DOCUMENTS)
        sk_vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
        assert list(vec.build_analyzer()(DOCUMENTS[0])) == analyzed[0]

        if cfg["vocabulary"] is not None:
            vocab = list(cfg["vocabulary"])
            assert sk_vocab == vocab
        else:
            vocab, tie = select_vocabulary(analyzed, cfg, n_docs)
            assert isinstance(vocab, list), (name, vocab)
            assert tie == tie_case, f"{name}: tie at the max_features cut-off is {tie}"
            full, _ = select_vocabulary(analyzed, dict(cfg, min_df=1, max_df=1.0, max_features=None), n_docs)
            by_max = select_vocabulary(analyzed, dict(cfg, min_df=1, max_features=None), n_docs)[0]
            by_min = select_vocabulary(analyzed, dict(cfg, max_df=1.0, max_features=None), n_docs)[0]
            prune_counts.append((name, len(full), len(vocab), len(full) - len(by_max), len(full) - len(by_min)))
            if tie_case:
                tie_reports.append((name, cfg["max_features"], sk_vocab == vocab,
                                    sorted(set(sk_vocab) ^ set(vocab))))
                # The documented stable rule, not numpy's unstable argsort: count with the
                # selected vocabulary fixed (the same analyzer, so the same counts).
                vec = make_vectorizer(cfg, vocabulary=vocab, max_features=None)
                X = vec.fit_transform(DOCUMENTS)
                assert sorted(vec.vocabulary_, key=vec.vocabulary_.get) == vocab
            else:
                assert sk_vocab == vocab, f"{name}: scikit-learn's vocabulary differs from the documented rule"
        Xt = vec.transform(TRANSFORM_DOCUMENTS)

        counts = to_csr(X, integer=True)
        tcounts = to_csr(Xt, integer=True)
        # sanity: the CSR equals a dense recount of the analyzer output
        dense_fit = recount(analyzed, vocab, cfg["binary"])
        dense_t = recount(analyzed_t, vocab, cfg["binary"])
        assert dense(counts) == dense_fit, name
        assert dense(tcounts) == dense_t, name
        assert X.toarray().tolist() == dense_fit, name
        index = set(vocab)
        for feats, row in zip(analyzed, dense_fit):
            in_vocab = [f for f in feats if f in index]
            assert sum(row) == (len(set(in_vocab)) if cfg["binary"] else len(in_vocab)), name

        tr = TfidfTransformer(**tfidf).fit(X)
        T = tr.transform(X)
        Tt = tr.transform(Xt)
        idf = [float(v) for v in tr.idf_] if tfidf["use_idf"] else None
        assert tfidf["use_idf"] == hasattr(tr, "idf_")
        if tfidf["use_idf"] and not tfidf["smooth_idf"] and any(not any(col) for col in zip(*dense_fit)):
            fail(f"{name}: a term with document frequency 0 and smooth_idf=False gives idf inf")
        ref_idf, ref_T = tfidf_reference(dense_fit, dense_fit, tfidf)
        _, ref_Tt = tfidf_reference(dense_fit, dense_t, tfidf)
        tf_csr = to_csr(T, integer=False)
        tft_csr = to_csr(Tt, integer=False)
        if idf is not None:
            floats.compare(idf, ref_idf, f"{name} idf")
        for got, want in zip(dense(tf_csr), ref_T):
            floats.compare(got, want, f"{name} tfidf")
        for got, want in zip(dense(tft_csr), ref_Tt):
            floats.compare(got, want, f"{name} transform_tfidf")
        assert tf_csr["indices"] == counts["indices"] and tft_csr["indices"] == tcounts["indices"]

        case = {
            "name": name,
            "vectorizer": cfg,
            "tfidf": tfidf,
            "expected": {
                "vocabulary": vocab,
                "analyze": analyzed,
                "counts": counts,
                "transform_counts": tcounts,
                "idf": idf,
                "tfidf": tf_csr,
                "transform_tfidf": tft_csr,
            },
        }
        if tie_case:
            case["tie_break"] = "stable"
        cases.append(case)
        record_coverage(coverage, cfg, tfidf)

    n_success = len(cases)
    for name, overrides, code in error_specs():
        cfg = dict(DEFAULT_CONFIG)
        cfg.update(overrides)
        vec = make_vectorizer(cfg)
        try:
            vec.fit_transform(DOCUMENTS)
        except ValueError as exc:
            got = error_code(exc)
            assert got == code, f"{name}: expected {code}, scikit-learn said {exc}"
        else:
            fail(f"{name}: scikit-learn raised no error")
        if code != "token_pattern_groups":
            analyzer = make_vectorizer(dict(cfg, min_df=1, max_df=1.0)).build_analyzer()
            mine, _ = select_vocabulary([list(analyzer(d)) for d in DOCUMENTS], cfg, n_docs)
            assert mine == code, (name, mine)
        cases.append({"name": name, "vectorizer": cfg, "tfidf": dict(TFIDF_COMBOS[0]), "error": code})
        coverage["error"][code] += 1

    for combo in TFIDF_COMBOS:
        key = tfidf_key(combo)
        if coverage["tfidf"][key] < 1:
            fail(f"tf-idf combination {key} not covered")

    fixture = {
        "generator": "scripts/gen-fixtures",
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "snowballstemmer": importlib.metadata.version("snowballstemmer"),
            "unicodedata": unicodedata.unidata_version,
        },
        "sklearn_english_stop_words": sorted(ENGLISH_STOP_WORDS),
        "documents": DOCUMENTS,
        "transform_documents": TRANSFORM_DOCUMENTS,
        "cases": cases,
    }
    write_json(FIXTURES / "vectorizer_parity.json", fixture)

    report.append(f"vectorizer cases: {n_success} success, {len(cases) - n_success} error")
    report.append(f"tf-idf floats checked against a plain-Python recomputation: {floats.values} values, "
                  f"{floats.inexact} not bit-identical (max relative difference {floats.max_rel:.3g})")
    pruned = [p for p in prune_counts if p[2] < p[1]]
    report.append(f"cases whose min_df/max_df/max_features pruned terms: {len(pruned)}")
    for name, k, same, diff in tie_reports:
        report.append(f"tie case {name}: max_features={k}; scikit-learn's own (unstable) pick "
                      f"{'equals' if same else 'differs from'} the stable rule"
                      + (f" (symmetric difference {diff})" if diff else ""))
    report.append("coverage:")
    for param in sorted(coverage):
        report.append(f"  {param}: " + ", ".join(f"{v}={n}" for v, n in sorted(coverage[param].items())))
    report.append("pruning (case: terms before -> after df/max_features filtering):")
    for name, before, after, cut_max, cut_min in prune_counts:
        if after < before:
            report.append(f"  {name}: {before} -> {after} (max_df removes {cut_max}, min_df removes {cut_min})")


def tfidf_key(t):
    return f"norm={t['norm']},idf={t['use_idf']},smooth={t['smooth_idf']},sublinear={t['sublinear_tf']}"


def record_coverage(cov, cfg, tfidf):
    a = cfg["analyzer"]
    cov["analyzer"][a] += 1
    cov[f"ngram_range[{a}]"][str(tuple(cfg["ngram_range"]))] += 1
    cov["lowercase"][str(cfg["lowercase"])] += 1
    cov["strip_accents"][str(cfg["strip_accents"])] += 1
    sw = cfg["stop_words"]
    cov["stop_words"]["custom" if isinstance(sw, list) else str(sw)] += 1
    cov["stemmer"][str(cfg["stemmer"])] += 1
    if a == "word":
        cov["token_pattern"][cfg["token_pattern"]] += 1
    cov["min_df"][f"{type(cfg['min_df']).__name__} {cfg['min_df']}"] += 1
    cov["max_df"][f"{type(cfg['max_df']).__name__} {cfg['max_df']}"] += 1
    cov["max_features"][str(cfg["max_features"])] += 1
    cov["binary"][str(cfg["binary"])] += 1
    cov["vocabulary"]["fixed" if cfg["vocabulary"] is not None else "None"] += 1
    cov["tfidf"][tfidf_key(tfidf)] += 1


# ---------------------------------------------------------------------------
# Fixture 2: stemmer parity word lists.
# ---------------------------------------------------------------------------

WORD_RE = re.compile(r"(?u)\b\w\w+\b")


def corpus_files(corpora: Path) -> list[Path]:
    files = [corpora / "banking77" / "train.csv", corpora / "bitext" / "train.csv",
             corpora / "20newsgroups" / "train.csv.gz"]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        fail("corpora for the English stemmer word list not found: " + ", ".join(missing)
             + " (pass --corpora DIR, the folder holding banking77/, bitext/ and 20newsgroups/)")
    return files


def english_words(corpora: Path) -> list[str]:
    files = corpus_files(corpora)
    freq = collections.Counter()
    for f in files:
        opener = gzip.open if f.suffix == ".gz" else open
        with opener(f, "rt", encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames[:4] != ["id", "subject", "body", "label"]:
                fail(f"{f}: unexpected columns {reader.fieldnames}")
            for row in reader:
                text = (row["subject"] or "") + "\n" + (row["body"] or "")
                freq.update(t for t in WORD_RE.findall(text.lower()) if t.isalpha())
    top = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:ENGLISH_WORDS]
    return sorted(w for w, _ in top)


def german_words() -> list[str]:
    path = importlib.resources.files("spellchecker") / "resources" / "de.json.gz"
    with path.open("rb") as fh:
        freq = json.loads(gzip.decompress(fh.read()).decode("utf-8"))
    words = [(w, n) for w, n in freq.items() if len(w) >= 2 and w.isalpha() and w == w.lower()]
    top = sorted(words, key=lambda kv: (-kv[1], kv[0]))[:GERMAN_WORDS]
    out = sorted(w for w, _ in top)
    for ch in "\u00e4\u00f6\u00fc\u00df":
        if not any(ch in w for w in out):
            fail(f"German word list has no {ch}")
    return out


def build_stemmer_fixtures(corpora: Path, lib: LibStemmer, report) -> None:
    sources = {
        "english": (english_words(corpora),
                    f"words: the {ENGLISH_WORDS} most frequent lower-cased alphabetic \\w\\w+ tokens of "
                    "banking77, bitext and 20newsgroups train.csv (ties alphabetical)"),
        "german": (german_words(),
                   f"words: the {GERMAN_WORDS} most frequent lower-case alphabetic words of "
                   "pyspellchecker 0.9.1 resources/de.json.gz (MIT; ties alphabetical)"),
    }
    for algorithm, (words, source) in sources.items():
        assert words == sorted(set(words))
        stemmer = snowball(algorithm)
        lines = [f"# Snowball {algorithm} stems from snowballstemmer 2.2.0 (PyPI, pure Python), "
                 f"cross-checked with Debian libstemmer 2.2.0; {source}; generated by scripts/gen-fixtures"]
        mismatches = []
        for w in words:
            stem = stemmer.stemWord(w)
            assert "\t" not in w and "\n" not in w and "\t" not in stem and "\n" not in stem
            c_stem = lib.stem(algorithm, w)
            if c_stem != stem:
                mismatches.append((w, stem, c_stem))
            lines.append(f"{w}\t{stem}")
        write_text(FIXTURES / f"stemmer_{algorithm}.tsv", "\n".join(lines) + "\n")
        changed = sum(1 for line in lines[1:] if line.split("\t")[0] != line.split("\t")[1])
        report.append(f"stemmer_{algorithm}.tsv: {len(words)} words ({changed} with a stem != word), "
                      f"libstemmer mismatches: {len(mismatches)}")
        for m in mismatches[:20]:
            report.append(f"  mismatch {m}")
        if mismatches:
            fail(f"libstemmer and snowballstemmer 2.2.0 disagree on {len(mismatches)} {algorithm} words")

    vec_mismatches = [(a, t) for a, t in sorted(STEM_LOG) if snowball(a).stemWord(t) != lib.stem(a, t)]
    report.append(f"vectorizer stemming tokens cross-checked with libstemmer: {len(STEM_LOG)}, "
                  f"mismatches: {len(vec_mismatches)}")
    if vec_mismatches:
        fail(f"libstemmer mismatches in vectorizer tokens: {vec_mismatches[:10]}")

    algorithms = lib.algorithms()
    write_json(FIXTURES / "stemmer_algorithms.json", algorithms)
    report.append(f"libstemmer algorithms ({lib.path}): {', '.join(algorithms)}")


# ---------------------------------------------------------------------------
# Fixture 3: Python's character semantics.
# ---------------------------------------------------------------------------

def ranges(codepoints) -> list[list[int]]:
    out: list[list[int]] = []
    for c in codepoints:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def build_unicode_fixture(report) -> None:
    from sklearn.feature_extraction.text import strip_accents_ascii, strip_accents_unicode

    word_re = re.compile(r"\w")
    digit_re = re.compile(r"\d")
    space_re = re.compile(r"\s")
    word, space, decimal, unassigned, ln_underscore = [], [], [], [], []
    lower, strip = [], []
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        cat = unicodedata.category(ch)
        if word_re.match(ch):
            word.append(c)
        if ch.isspace():
            space.append(c)
        assert bool(space_re.match(ch)) == ch.isspace()
        if digit_re.match(ch):
            decimal.append(c)
        if cat == "Cn":
            unassigned.append(c)
        if cat[0] in "LN" or ch == "_":
            ln_underscore.append(c)
        lo = ch.lower()
        if lo != ch:
            lower.append([c, lo])
        u, a = strip_accents_unicode(ch), strip_accents_ascii(ch)
        if c < 0x80:
            assert u == ch and a == ch
        elif u != ch or a != "":
            strip.append([c, u, a])

    word_set, ln_set = set(word), set(ln_underscore)
    only_w = sorted(word_set - ln_set)
    only_ln = sorted(ln_set - word_set)
    nd = {c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) == "Nd"}
    fixture = {
        "generator": "scripts/gen-fixtures",
        "versions": {"python": platform.python_version(), "unicodedata": unicodedata.unidata_version},
        "unicode_version": unicodedata.unidata_version,
        "notes": [
            "Code points 0..0x10FFFF except surrogates; ranges are inclusive [lo, hi].",
            "word: re.match(r'\\w', chr(c)); space: chr(c).isspace() (= re's \\s); "
            "decimal: re.match(r'\\d', chr(c)); unassigned: unicodedata.category == 'Cn'.",
            "lower: [c, chr(c).lower()] where it differs; per code point, so it does not show "
            "str.lower()'s Final_Sigma rule (capital sigma becomes final sigma at the end of a word).",
            "strip_accents: [c, strip_accents_unicode(chr(c)), strip_accents_ascii(chr(c))] "
            "(scikit-learn) for every c >= 0x80 where the unicode result differs from chr(c) or the "
            "ascii result is not empty. Unlisted: unicode gives chr(c); ascii gives chr(c) for c < 0x80 "
            "and the empty string otherwise. Both functions work code point by code point.",
        ],
        "checks": {
            "word_equals_L_N_underscore": not only_w and not only_ln,
            "word_not_L_N_underscore": ranges(only_w),
            "L_N_underscore_not_word": ranges(only_ln),
            "decimal_equals_Nd": set(decimal) == nd,
        },
        "word": ranges(word),
        "space": ranges(space),
        "decimal": ranges(decimal),
        "unassigned": ranges(unassigned),
        "lower": lower,
        "strip_accents": strip,
    }
    write_json(FIXTURES / "python_unicode.json", fixture)
    report.append(f"python_unicode.json: Unicode {unicodedata.unidata_version}; word {len(word)} code points "
                  f"in {len(ranges(word))} ranges, space {len(space)}, decimal {len(decimal)}, "
                  f"unassigned {len(unassigned)}, lower {len(lower)} entries, strip_accents {len(strip)} entries")
    report.append(f"\\w == L* | N* | '_': {not only_w and not only_ln} "
                  f"(\\w only: {len(only_w)} code points {ranges(only_w)[:10]}; "
                  f"L|N|_ only: {len(only_ln)} code points {ranges(only_ln)[:10]})")
    report.append(f"\\d == Nd: {set(decimal) == nd}")


# ---------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA,
                        help="folder with banking77/, bitext/, 20newsgroups/ (default: %(default)s)")
    parser.add_argument("--only", action="append", choices=["vectorizer", "stemmer", "unicode"],
                        help="generate only these fixtures (repeatable; default: all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each case name")
    args = parser.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    only = set(args.only or ["vectorizer", "stemmer", "unicode"])

    check_versions()
    if "stemmer" in only:
        corpus_files(args.corpora)  # fail before writing anything
    warnings.simplefilter("ignore")  # scikit-learn's notes about unused/inconsistent parameters
    check_text_set()
    report: list[str] = []
    print(f"gen_text_fixtures: writing {FIXTURES.relative_to(REPO)}/")
    lib = LibStemmer() if "stemmer" in only or "vectorizer" in only else None
    if "vectorizer" in only:
        build_vectorizer_fixture(report)
    if "stemmer" in only:
        build_stemmer_fixtures(args.corpora, lib, report)
    elif "vectorizer" in only:
        bad = [(a, t) for a, t in sorted(STEM_LOG) if snowball(a).stemWord(t) != lib.stem(a, t)]
        report.append(f"vectorizer stemming tokens cross-checked with libstemmer: {len(STEM_LOG)}, "
                      f"mismatches: {len(bad)}")
        if bad:
            fail(f"libstemmer mismatches in vectorizer tokens: {bad[:10]}")
    if "unicode" in only:
        build_unicode_fixture(report)
    print("\n".join(report))


if __name__ == "__main__":
    main()
