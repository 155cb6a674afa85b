"""Text to index terms, the same way for documents and queries (pure: no database).

Normalization is NFKC plus case folding, so full-width `ＩＰＳｅｃ`, half-width `ｶﾞ` and
`IPSEC` all meet their ordinary forms. Text then splits into runs:

- CJK runs (Han, Hiragana, Katakana incl. `ー`, Hangul) become overlapping bigrams, the
  approach of Elasticsearch's `cjk_bigram`: `静的変換` → `静的 的変 変換`. A one-character
  run is a unigram. Horizontal spaces between two CJK characters do not end a run, because
  Japanese support text spaces its katakana words (`ネットワーク アドレス`) while people
  type them together.
- Other letters and digits form words. ASCII words get a light English stemmer
  (`mappings`, `mapped`, `mapping` → `map`); `KB885348` is the bare number `885348`.

Every token has a position. Positions of one CJK run are consecutive, and a run is set
apart from its neighbours by a gap, so adjacency (phrases) can be checked on positions
alone, even from every other bigram of a run.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

# Character ranges of Hiragana, Katakana (with ー, without the middle dot ・), CJK
# ideographs and their extensions, iteration marks 々〆〇, Hangul syllables.
CJK_CHARS = (
    "\u3005-\u3007\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7a3\U00020000-\U0003134f"
)
# A letter or digit that is not CJK (a character class, for regular expressions).
WORD_CHAR = rf"[^\W_{CJK_CHARS}]"
_RUNS = re.compile(rf"(?P<cjk>[{CJK_CHARS}]+(?:[^\S\n]+[{CJK_CHARS}]+)*)|(?P<word>{WORD_CHAR}+)")
_KB_WORD = re.compile(r"kb0*(\d{1,10})")

MAX_TERM_LENGTH = 64
# Extra positions between a CJK run and its neighbours. A phrase check may skip every
# other bigram of a run (offsets two apart); a gap of two keeps such a check inside one run.
RUN_GAP = 2
# Extra positions between sections, so that no phrase spans two of them.
SEGMENT_GAP = 16

# Words too common to be worth requiring in an unquoted query. Inside quotes they still
# take their place in the phrase.
_STOPWORD_LIST = (
    "a an and are as at be by can do does for from how i if in into is it its of on or "
    "that the then there these this those to was what when where which who why will with "
    "you your"
)
STOPWORDS = frozenset(_STOPWORD_LIST.split())

_VOWELS = frozenset("aeiouy")
_UNDOUBLED = frozenset("lsz")


def stem(word: str) -> str:
    """A light English stemmer: plurals, -ing, -ed, -ly and a final -e; ASCII words only.

    `mappings`/`mapped`/`mapping` → `map`, `configure`/`configured` → `configur`,
    `policies`/`applied` → `-y`, `addresses` → `address`; `status`, `this`, `using` stay.
    Both documents and queries go through it, so only consistency matters.
    """
    if len(word) < 4 or not (word.isascii() and word.isalpha()):
        return word
    if word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ied") and len(word) > 4:
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 3 and _VOWELS.intersection(base):
            word = base
            # mapp(ing) → map; but fill(ing), pass(ed) keep their double letters.
            if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in _UNDOUBLED | _VOWELS:
                word = word[:-1]
            break
    else:
        # direct(ly), manual(ly); not apply, supply, multiply, family, only.
        if word.endswith("ly") and len(word) >= 7 and word[-3] != "p":
            word = word[:-2]
    if word.endswith("e") and len(word) >= 4:
        word = word[:-1]
    return word


@functools.lru_cache(maxsize=65536)
def word_term(word: str) -> str:
    """The index term of one normalized word: KB numbers bare, ASCII words stemmed."""
    kb = _KB_WORD.fullmatch(word)
    if kb:
        return kb.group(1)
    return stem(word)[:MAX_TERM_LENGTH]


def normalize(text: str) -> str:
    """NFKC and case folding."""
    return _normalized_with_offsets(text)[0]


def normalize_with_offsets(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """The normalized text with, for each of its characters, the span it came from in `text`.

    The spans are None when they are the identity (the usual case: already NFKC, and case
    folding kept the length), which saves building two lists per text.
    """
    return _normalized_with_offsets(text)


def _normalized_with_offsets(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    if unicodedata.is_normalized("NFKC", text):
        folded = text.casefold()
        if len(folded) == len(text):
            return folded, None, None
    # Normalize cluster by cluster (a character and the marks that follow it), so that
    # every output character can be traced back to the input it came from.
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    index = 0
    length = len(text)
    while index < length:
        end = index + 1
        while end < length and _is_mark(text[end]):
            end += 1
        piece = unicodedata.normalize("NFKC", text[index:end]).casefold()
        parts.append(piece)
        starts.extend([index] * len(piece))
        ends.extend([end] * len(piece))
        index = end
    return "".join(parts), starts, ends


def _is_mark(char: str) -> bool:
    # Half-width voiced sound marks (ﾞﾟ) combine with the preceding kana under NFKC.
    return unicodedata.combining(char) != 0 or char in "\uff9e\uff9f"


@dataclass(frozen=True, slots=True)
class Run:
    """A CJK run (spaces removed) or one word of normalized text."""

    cjk: bool
    text: str


def runs(normalized: str) -> Iterator[Run]:
    """The CJK runs and words of already normalized text, in order."""
    for match in _RUNS.finditer(normalized):
        if match.lastgroup == "cjk":
            yield Run(True, "".join(match.group().split()))
        else:
            yield Run(False, match.group())


def run_terms(run: Run) -> list[str]:
    """The terms of one run: bigrams (or a unigram) of a CJK run, the term of a word."""
    if not run.cjk:
        return [word_term(run.text)]
    text = run.text
    if len(text) == 1:
        return [text]
    return [text[i : i + 2] for i in range(len(text) - 1)]


@dataclass(frozen=True, slots=True)
class Token:
    """One index term at its position."""

    term: str
    position: int


def positioned_runs(
    run_list: Sequence[Run], first_position: int = 0
) -> tuple[list[tuple[Run, list[Token]]], int]:
    """Each run with its tokens, and the next free position."""
    result: list[tuple[Run, list[Token]]] = []
    position = first_position
    previous_cjk: bool | None = None
    for run in run_list:
        if previous_cjk is not None and (run.cjk or previous_cjk):
            position += RUN_GAP
        tokens = []
        for term in run_terms(run):
            tokens.append(Token(term, position))
            position += 1
        result.append((run, tokens))
        previous_cjk = run.cjk
    return result, position


def tokenize(text: str, first_position: int = 0) -> tuple[list[Token], int]:
    """Tokens of `text` from `first_position` on, and the next free position."""
    found, position = positioned_runs(list(runs(normalize(text))), first_position)
    return [token for _, tokens in found for token in tokens], position


def tokenize_segments(segments: Sequence[str]) -> list[Token]:
    """Tokens of several texts (e.g. headings and section bodies) with gaps between them."""
    tokens: list[Token] = []
    position = 0
    for segment in segments:
        found, end = tokenize(segment, position)
        if found:
            tokens.extend(found)
            position = end + SEGMENT_GAP
    return tokens


# Some text tokenized from position 0, ready to be spliced into a document: terms,
# positions, terms with run marks, whether it starts and ends with a CJK run, and the
# next free position after it.
_Piece = tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...], bool, bool, int]


class Terms(NamedTuple):
    """A text's terms, the same terms with gap marks (for FTS5), and where they stand.

    Positions are kept per stretch (`stretches`: where it starts, its positions from 0)
    and only added up when asked for (`positions`): FTS5 needs none of them.
    """

    terms: list[str]
    marked: list[str]
    stretches: list[tuple[int, tuple[int, ...]]]
    # The last token's position, -1 when there is none.
    last: int

    def positions(self, start: int = 0) -> list[int]:
        """Each term's position, plus `start`."""
        positions: list[int] = []
        for offset, stretch in self.stretches:
            positions += map((offset + start).__add__, stretch)
        return positions


# A stretch of word and CJK characters and the horizontal spaces between them: no run
# reaches across what separates two stretches (a new line, punctuation, symbols).
_STRETCH = re.compile(rf"(?:{WORD_CHAR}|[{CJK_CHARS}])(?:[^\S\n]*(?:{WORD_CHAR}|[{CJK_CHARS}]))*")
# The same for text without UNASSIGNED_CJK, a third faster: a word or CJK character is then
# a letter or digit, [^\W_], one character class.
_STRETCH_FAST = re.compile(r"[^\W_]+(?:[^\S\n]+[^\W_]+)*")
# Where the CJK ranges hold code points that are not letters (unassigned in this Python's
# Unicode; a unit test checks that there are none elsewhere).
UNASSIGNED_CJK = re.compile("[\uf900-\ufaff\U00020000-\U0003134f]")


def _stretches(normalized: str) -> list[str]:
    """The stretches of normalized text, in order."""
    if UNASSIGNED_CJK.search(normalized):
        return _STRETCH.findall(normalized)
    return _STRETCH_FAST.findall(normalized)


# Texts repeat their phrases even more than their words (a corpus of 20,000 articles has
# 3 million stretches, 65,000 distinct ones): each is tokenized once while it stays among
# the most recent (the cache holds about 20 MiB).
@functools.lru_cache(maxsize=16384)
def _stretch(text: str, run_mark: str) -> _Piece:
    """A stretch, run by run."""
    terms: list[str] = []
    positions: list[int] = []
    marked: list[str] = []
    position = 0
    cjk = first_cjk = previous_cjk = False
    for index, match in enumerate(_RUNS.finditer(text)):
        cjk = match.lastgroup == "cjk"
        if index == 0:
            first_cjk = cjk
        elif cjk or previous_cjk:
            position += RUN_GAP
            marked.append(run_mark)
        previous_cjk = cjk
        found = run_terms(Run(cjk, "".join(match.group().split()) if cjk else match.group()))
        terms += found
        marked += found
        positions += range(position, position + len(found))
        position += len(found)
    return tuple(terms), tuple(positions), tuple(marked), first_cjk, cjk, position


def segment_terms(segments: Sequence[str], run_mark: str = "", section_mark: str = "") -> Terms:
    """tokenize_segments as plain lists: what indexing a document needs, made faster.

    Each text is cut into stretches that no run crosses; a stretch is tokenized once
    (cached) and spliced in at its position, with a gap (and `run_mark`) where a CJK run
    meets its neighbour, `section_mark` between segments. Bulk indexing spends its time
    here.
    """
    terms: list[str] = []
    marked: list[str] = []
    stretches: list[tuple[int, tuple[int, ...]]] = []
    position = 0
    last = -1
    for segment in segments:
        last_cjk: bool | None = None
        for text in _stretches(normalize(segment)):
            found, offsets, found_marked, first_cjk, ends_cjk, end = _stretch(text, run_mark)
            if last_cjk is None:
                if terms:
                    marked.append(section_mark)
            elif last_cjk or first_cjk:
                position += RUN_GAP
                marked.append(run_mark)
            terms += found
            marked += found_marked
            stretches.append((position, offsets))
            last = position + offsets[-1]
            position += end
            last_cjk = ends_cjk
        if last_cjk is not None:
            position += SEGMENT_GAP
    return Terms(terms, marked, stretches, last)
