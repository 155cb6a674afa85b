"""Query text to what the search looks for (pure: no database).

The query language has no operators that can break: `"…"` quotes a phrase, everything
else is text. Each word and each CJK run of the unquoted text is a required unit (a
document must contain all of them); a CJK run must appear as written (its bigrams
adjacent), and so must a quoted phrase. Common English words (`the`, `how`) are not
required unless the query has nothing else. `KB885348`, `KB 885348`, or a query that is
only a number, names an article by its KB number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..fulltext.tokenizer import STOPWORDS, Run, Token, normalize, positioned_runs, runs

# More distinct terms than this are ignored: the query is cut at the unit that crosses it.
MAX_QUERY_TERMS = 32

_WHOLE_KB = re.compile(r"(?:kb)?\s*0*(\d{1,10})")
_KB_WORD = re.compile(r"kb0*(\d{1,10})")
_DIGITS = re.compile(r"\d{1,10}")


@dataclass(frozen=True)
class Phrase:
    """Terms at fixed offsets from each other; a single term may appear anywhere."""

    terms: tuple[tuple[int, str], ...]

    @property
    def first(self) -> str:
        """The term at offset 0."""
        return self.terms[0][1]


@dataclass(frozen=True)
class Highlight:
    """What to mark in a snippet: a CJK run as written, or every word with this term."""

    cjk: bool
    text: str


@dataclass(frozen=True)
class ParsedQuery:
    """The units a document must (or may) contain, bonus phrases and named KB numbers."""

    required: tuple[Phrase, ...] = ()
    # Scored when present, never required (KB numbers next to other words).
    optional: tuple[Phrase, ...] = ()
    # Neighbouring units of the unquoted text found next to each other: a bonus.
    proximity: tuple[Phrase, ...] = ()
    kb_numbers: tuple[str, ...] = ()
    highlights: tuple[Highlight, ...] = ()

    @property
    def terms(self) -> list[str]:
        """Every distinct term to look up, in query order."""
        seen: dict[str, None] = {}
        for phrase in (*self.required, *self.optional):
            for _, term in phrase.terms:
                seen.setdefault(term)
        return list(seen)

    @property
    def empty(self) -> bool:
        """True when there is nothing to search for."""
        return not self.required and not self.kb_numbers


@dataclass
class _Builder:
    required: list[Phrase] = field(default_factory=list)
    stopword_units: list[tuple[Phrase, Highlight]] = field(default_factory=list)
    kb_numbers: list[str] = field(default_factory=list)
    proximity: list[Phrase] = field(default_factory=list)
    highlights: list[Highlight] = field(default_factory=list)
    terms: set[str] = field(default_factory=set)
    full: bool = False

    def fits(self, phrase: Phrase) -> bool:
        """Count the phrase's terms against the limit; False once the limit is reached."""
        new = {term for _, term in phrase.terms} - self.terms
        if self.full or len(self.terms) + len(new) > MAX_QUERY_TERMS:
            self.full = True
            return False
        self.terms |= new
        return True

    def add_kb(self, number: str) -> None:
        if number not in self.kb_numbers:
            self.kb_numbers.append(number)

    def highlight(self, run: Run, tokens: Sequence[Token]) -> None:
        item = _highlight(run, tokens)
        if item not in self.highlights:
            self.highlights.append(item)


def parse_query(text: str) -> ParsedQuery:
    """Parse a search box query."""
    normalized = normalize(text)
    whole = _WHOLE_KB.fullmatch(normalized.strip())
    if whole:
        number = whole.group(1)
        return ParsedQuery(
            required=(Phrase(((0, number),)),),
            kb_numbers=(number,),
            highlights=(Highlight(False, number),),
        )
    builder = _Builder()
    # Odd parts were inside quotes; an unbalanced quote runs to the end.
    for index, part in enumerate(normalized.split('"')):
        if index % 2:
            _quoted(builder, part)
        else:
            _unquoted(builder, part)
    if not builder.required and builder.stopword_units:
        builder.required = [phrase for phrase, _ in builder.stopword_units]
        builder.highlights += [item for _, item in builder.stopword_units]
    required = _unique(builder.required)
    kb_phrases = tuple(Phrase(((0, number),)) for number in builder.kb_numbers)
    if not required:
        required, kb_phrases = kb_phrases, ()
    return ParsedQuery(
        required=required,
        optional=tuple(p for p in kb_phrases if p not in required),
        proximity=_unique(builder.proximity),
        kb_numbers=tuple(builder.kb_numbers),
        highlights=tuple(builder.highlights),
    )


def _highlight(run: Run, tokens: Sequence[Token]) -> Highlight:
    return Highlight(True, run.text) if run.cjk else Highlight(False, tokens[0].term)


def _unique(phrases: Sequence[Phrase]) -> tuple[Phrase, ...]:
    return tuple(dict.fromkeys(phrases))


def _unquoted(builder: _Builder, text: str) -> None:
    found, _ = positioned_runs(list(runs(text)))
    previous: list[Token] | None = None
    for index, (run, tokens) in enumerate(found):
        if not run.cjk and _is_kb_prefix(run, found, index):
            continue
        kb = _KB_WORD.fullmatch(run.text) if not run.cjk else None
        if kb or (not run.cjk and _DIGITS.fullmatch(run.text) and _after_kb(found, index)):
            builder.add_kb(kb.group(1) if kb else run.text.lstrip("0") or "0")
            builder.highlight(run, tokens)
            previous = None
            continue
        phrase = run_phrase(tokens, run.cjk)
        if not run.cjk and run.text in STOPWORDS:
            if builder.fits(phrase):
                builder.stopword_units.append((phrase, _highlight(run, tokens)))
            continue
        if not builder.fits(phrase):
            return
        builder.required.append(phrase)
        builder.highlight(run, tokens)
        if previous is not None:
            last = previous[-1]
            builder.proximity.append(
                Phrase(((0, last.term), (tokens[0].position - last.position, tokens[0].term)))
            )
        previous = tokens


def _is_kb_prefix(run: Run, found: Sequence[tuple[Run, list[Token]]], index: int) -> bool:
    # "KB 885348": the word "kb" only introduces the number.
    return (
        run.text == "kb"
        and index + 1 < len(found)
        and not found[index + 1][0].cjk
        and _DIGITS.fullmatch(found[index + 1][0].text) is not None
    )


def _after_kb(found: Sequence[tuple[Run, list[Token]]], index: int) -> bool:
    return index > 0 and found[index - 1][0].text == "kb"


def _quoted(builder: _Builder, text: str) -> None:
    found, _ = positioned_runs(list(runs(text)))
    if not found:
        return
    content = [(run, tokens) for run, tokens in found if run.cjk or run.text not in STOPWORDS]
    kept = content or found
    checked: list[Token] = []
    for run, tokens in kept:
        checked.extend(_cover(tokens) if run.cjk else tokens)
    origin = checked[0].position
    phrase = Phrase(tuple((token.position - origin, token.term) for token in checked))
    if builder.fits(phrase):
        builder.required.append(phrase)
        for run, tokens in kept:
            builder.highlight(run, tokens)


def run_phrase(tokens: Sequence[Token], cjk: bool) -> Phrase:
    """The phrase of one run's tokens: a word, or a CJK run checked on its cover."""
    checked = _cover(tokens) if cjk else tokens
    origin = checked[0].position
    return Phrase(tuple((token.position - origin, token.term) for token in checked))


def _cover(tokens: Sequence[Token]) -> list[Token]:
    """Every other bigram of a run, and its last one: together they cover every character.

    Two bigrams two positions apart in one run leave no character between them, and the
    tokenizer's run gap keeps two runs from passing for one, so checking these is exact.
    """
    chosen = list(tokens[::2])
    if chosen[-1] is not tokens[-1]:
        chosen.append(tokens[-1])
    return chosen
