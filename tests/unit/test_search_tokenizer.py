"""The search tokenizer, query parser, ranking weights and snippets: pure functions."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kbservice.fulltext.documents import (
    DROPPED,
    FILLER,
    MAX_POSITIONS_PER_TERM,
    SECTION,
    _index_form_cut,
    document_terms,
    fts5_phrase,
    index_form,
)
from kbservice.fulltext.tokenizer import (
    CJK_CHARS,
    RUN_GAP,
    SEGMENT_GAP,
    UNASSIGNED_CJK,
    normalize,
    normalize_with_offsets,
    segment_terms,
    stem,
    tokenize,
    tokenize_segments,
    word_term,
)
from kbservice.search.parser import MAX_QUERY_TERMS, Highlight, Phrase, parse_query
from kbservice.search.snippets import Highlighter, make_snippet


def terms(text: str) -> list[str]:
    return [token.term for token in tokenize(text)[0]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＩＰＳｅｃ", "ipsec"),
        ("IPSEC", "ipsec"),
        ("ｶﾞｲﾄﾞ", "ガイド"),
        ("Straße", "strasse"),
        ("①２３", "123"),
        ("\u3000全角スペース", " 全角スペース"),
    ],
)
def test_normalization_is_nfkc_and_case_folding(text, expected):
    assert normalize(text) == expected


def test_offsets_lead_back_to_the_original_text():
    text = "ｶﾞｲﾄﾞ Straße"
    normalized, starts, ends = normalize_with_offsets(text)
    assert normalized == "ガイド strasse"
    assert starts is not None and ends is not None
    # ガ came from ｶﾞ (two characters); each s of ß maps back to ß.
    assert text[starts[0] : ends[0]] == "ｶﾞ"
    assert text[starts[-2] : ends[-2]] == "ß"
    assert normalize_with_offsets("plain ascii") == ("plain ascii", None, None)


def test_cjk_runs_become_overlapping_bigrams():
    assert terms("静的変換") == ["静的", "的変", "変換"]
    assert terms("推奨") == ["推奨"]
    assert terms("の") == ["の"]
    assert terms("サーバー") == ["サー", "ーバ", "バー"]


def test_spaces_inside_japanese_text_do_not_split_a_run_but_newlines_do():
    assert terms("ネットワーク アドレス") == terms("ネットワークアドレス")
    assert "クア" not in terms("ネットワーク\nアドレス")


def test_latin_words_are_folded_and_stemmed_next_to_cjk():
    assert terms("IPSecの使用") == ["ipsec", "の使", "使用"]
    assert terms("Mappings, NAT-T; x86 L2TP/IPSec") == ["map", "nat", "t", "x86", "l2tp", "ipsec"]


def test_kb_words_index_the_bare_number():
    assert terms("KB885348 kb0885348 885348") == ["885348", "885348", "885348"]


def test_positions_leave_a_gap_around_cjk_runs_and_between_segments():
    tokens, end = tokenize("a 静的 b c")
    positions = {token.term: token.position for token in tokens}
    assert positions["静的"] == positions["a"] + 1 + RUN_GAP
    assert positions["b"] == positions["静的"] + 1 + RUN_GAP
    assert positions["c"] == positions["b"] + 1
    assert end == positions["c"] + 1
    first, second = tokenize_segments(["alpha", "beta"])
    assert second.position - first.position > 2


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("mapping", "map"),
        ("mappings", "map"),
        ("mapped", "map"),
        ("maps", "map"),
        ("configure", "configur"),
        ("configured", "configur"),
        ("configuring", "configur"),
        ("policies", "policy"),
        ("applied", "apply"),
        ("apply", "apply"),
        ("addresses", "address"),
        ("processing", "process"),
        ("directly", "direct"),
        ("status", "status"),
        ("this", "this"),
        ("using", "using"),
        ("ipsec", "ipsec"),
        ("x86", "x86"),
    ],
)
def test_light_stemmer(word, expected):
    assert stem(word) == expected


def test_plain_query_units_are_required_and_neighbours_give_a_bonus():
    parsed = parse_query("Static mappings")
    assert parsed.required == (Phrase(((0, "static"),)), Phrase(((0, "map"),)))
    assert parsed.proximity == (Phrase(((0, "static"), (1, "map"))),)
    assert parsed.kb_numbers == ()


def test_quotes_make_a_phrase_and_a_cjk_run_is_one():
    assert parse_query('"static mapping"').required == (Phrase(((0, "static"), (1, "map"))),)
    # Every other bigram and the last one are enough to check adjacency.
    assert parse_query("静的マッピング").required == (
        Phrase(((0, "静的"), (2, "マッ"), (4, "ピン"), (5, "ング"))),
    )
    unbalanced = parse_query('"static mapping')
    assert unbalanced.required == (Phrase(((0, "static"), (1, "map"))),)


def test_stopwords_are_dropped_unless_nothing_else_is_left():
    assert parse_query("how to configure the firewall").required == (
        Phrase(((0, "configur"),)),
        Phrase(((0, "firewall"),)),
    )
    assert parse_query("the").required == (Phrase(((0, "the"),)),)
    # Inside quotes they keep their place in the phrase.
    assert parse_query('"behind a translator"').required == (
        Phrase(((0, "behind"), (2, "translator"))),
    )


@pytest.mark.parametrize("query", ["885348", "KB885348", "kb 885348", " ＫＢ８８５３４８ "])
def test_kb_numbers_are_recognized(query):
    parsed = parse_query(query)
    assert parsed.kb_numbers == ("885348",)
    assert parsed.required == (Phrase(((0, "885348"),)),)


def test_a_kb_number_beside_words_is_optional_text():
    parsed = parse_query("KB885348 NAT")
    assert parsed.kb_numbers == ("885348",)
    assert parsed.required == (Phrase(((0, "nat"),)),)
    assert parsed.optional == (Phrase(((0, "885348"),)),)
    # A number alone among words is just a word.
    assert parse_query("port 4500").kb_numbers == ()


@pytest.mark.parametrize(
    "query", ["", "   ", "!!!", "%_%", "<>", "\x00", "🔥", "\ud800", "()[]{}*", '""', "—"]
)
def test_queries_without_words_are_empty(query):
    assert parse_query(query).empty


def test_operators_and_sql_are_just_words():
    parsed = parse_query("' OR 1=1; DROP TABLE articles --")
    assert [p.first for p in parsed.required] == ["1", "drop", "tabl", "articl"]


def test_long_queries_are_cut_at_the_term_limit():
    parsed = parse_query(" ".join(f"word{i}" for i in range(100)))
    assert len(parsed.terms) == MAX_QUERY_TERMS
    run = parse_query("漢" + "".join(chr(0x4E00 + i) for i in range(500)))
    assert run.empty or len(run.terms) <= MAX_QUERY_TERMS


def _positions(text: str) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for token in tokenize(text)[0]:
        found.setdefault(token.term, set()).add(token.position)
    return found


def _phrase_occurs(phrase: Phrase, positions: dict[str, set[int]]) -> bool:
    first_offset, first_term = phrase.terms[0]
    starts = {p - first_offset for p in positions.get(first_term, set())}
    for offset, term in phrase.terms[1:]:
        starts &= {p - offset for p in positions.get(term, set())}
    return bool(starts)


_JAPANESE = st.text(alphabet="静的変換構成ー、 xy", min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(document=_JAPANESE, query=st.text(alphabet="静的変換構成ー", min_size=2, max_size=6))
# Two runs must not pass for one: 静的 and (構)変換 sit two bigrams apart.
@example(document="静的、構変換", query="静的変換")
@example(document="静的 変換", query="静的変換")
def test_a_cjk_query_matches_exactly_where_it_is_a_substring(document, query):
    """Positions of every other bigram decide adjacency exactly, across runs and gaps."""
    parsed = parse_query(query)
    (phrase,) = parsed.required
    runs = [re.sub(r"[ ]", "", run) for run in re.split(r"[、xy\n]+", normalize(document))]
    assert _phrase_occurs(phrase, _positions(document)) == any(query in run for run in runs)


def test_both_engines_index_the_same_tokens_at_the_same_distances():
    form = index_form(
        document_terms(["IPSec 推奨"]), document_terms(["静的マッピング", "map"]), tsvector=True
    )
    assert form.tokens == 2 + 6 + 1
    assert form.fts_title == f"ipsec {FILLER} 推奨"
    assert form.fts_body == f"静的 的マ マッ ッピ ピン ング {SECTION} map"
    # 1-based, the title weighted A, the body after the title and a section gap.
    assert form.tsvector is not None
    assert form.tsvector.startswith("'ipsec':1A '推奨':4A '静的':21 ")
    # The parser checks every other bigram; FTS5 gets the whole run back.
    (phrase,) = parse_query("静的マッピング").required
    assert fts5_phrase(phrase.terms) == '"静的 的マ マッ ッピ ピン ング"'
    (phrase,) = parse_query('"IPSec 推奨"').required
    assert fts5_phrase(phrase.terms) == f'"ipsec {FILLER} 推奨"'


def test_tokens_a_tsvector_cannot_hold_are_left_out_on_both_engines():
    body = document_terms(["word " * (MAX_POSITIONS_PER_TERM + 2) + "end"])
    form = index_form(document_terms([]), body, tsvector=False)
    assert form.tokens == MAX_POSITIONS_PER_TERM + 1 and form.tsvector is None
    assert form.fts_body.split()[-3:] == [DROPPED, DROPPED, "end"]
    form = index_form(document_terms([]), document_terms(["x " * 20000]), tsvector=True)
    assert form.tokens == MAX_POSITIONS_PER_TERM
    assert len(form.fts_body.split()) < 16383


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet="abc静的マッピングIPｓｅｃ 、\n\u3000\tkb0123ー", max_size=40), max_size=4
    )
)
def test_segment_terms_is_tokenize_segments_made_faster(segments):
    tokens = tokenize_segments(segments)
    found = segment_terms(segments)
    assert (found.terms, found.positions()) == (
        [t.term for t in tokens],
        [t.position for t in tokens],
    )
    # The fast path (gap marks from the tokenizer) equals the token-by-token one.
    title = document_terms(segments[:1])
    body = document_terms(segments[1:])
    assert index_form(title, body, tsvector=True) == _index_form_cut(title, body, tsvector=True)


def test_snippets_mark_matches_and_escape_everything_else():
    highlighter = Highlighter(parse_query("spooler").highlights)
    body = "Restart the <script>alert('x')</script> print spooler & the Spooler service."
    snippet = make_snippet(highlighter, "Title", [body], intro=body)
    assert "<mark>spooler</mark>" in snippet and "<mark>Spooler</mark>" in snippet
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in snippet
    assert "&amp;" in snippet
    assert "<script>" not in snippet


def test_snippets_mark_stemmed_words_and_spaced_japanese():
    highlighter = Highlighter((Highlight(False, "map"), Highlight(True, "ネットワークアドレス")))
    text = "Port mappings for the ネットワーク アドレス変換器."
    spans = highlighter.spans(text)
    assert [text[s.start : s.end] for s in spans] == ["mappings", "ネットワーク アドレス"]


def test_snippet_falls_back_to_the_title_then_to_the_introduction():
    highlighter = Highlighter(parse_query("推奨").highlights)
    assert make_snippet(highlighter, "使用は推奨されない", ["本文"], intro="本文") == (
        "使用は<mark>推奨</mark>されない"
    )
    assert make_snippet(highlighter, "題名", ["本文"], intro="本文") == "本文"


def test_snippet_windows_long_text_around_the_matches():
    highlighter = Highlighter(parse_query("needle").highlights)
    body = "hay " * 100 + "needle " + "hay " * 100
    snippet = make_snippet(highlighter, "t", [body], intro=body)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>needle</mark>" in snippet
    assert len(snippet) < 200


_CJK = re.compile(f"[{CJK_CHARS}]")


def _documented_terms(segments: list[str], run_mark: str, section_mark: str) -> tuple:
    """docs/search.md "Tokens", character by character: terms, positions and FTS5 marks."""
    terms: list[str] = []
    positions: list[int] = []
    marked: list[str] = []
    position = 0
    for segment in segments:
        text = normalize(segment)
        runs: list[tuple[bool, str]] = []
        index = 0
        while index < len(text):
            if _CJK.match(text[index]):
                run = ""
                while index < len(text) and _CJK.match(text[index]):
                    run += text[index]
                    index += 1
                    # Horizontal spaces between two CJK characters do not end a run.
                    after = index
                    while after < len(text) and text[after].isspace() and text[after] != "\n":
                        after += 1
                    if after > index and after < len(text) and _CJK.match(text[after]):
                        index = after
                runs.append((True, run))
            elif text[index].isalnum():
                start = index
                while index < len(text) and text[index].isalnum() and not _CJK.match(text[index]):
                    index += 1
                runs.append((False, text[start:index]))
            else:
                index += 1
        for number, (cjk, run) in enumerate(runs):
            if number == 0 and terms:
                marked.append(section_mark)
            if number > 0 and (cjk or runs[number - 1][0]):
                position += RUN_GAP
                marked.append(run_mark)
            if not cjk:
                found = [word_term(run)]
            elif len(run) == 1:
                found = [run]
            else:
                found = [run[i : i + 2] for i in range(len(run) - 1)]
            for term in found:
                terms.append(term)
                positions.append(position)
                marked.append(term)
                position += 1
        if runs:
            position += SEGMENT_GAP
    return terms, positions, marked


# With code points the CJK ranges leave unassigned (\ufa6e, \U0002a6e0).
_TOKENIZER_CHARACTERS = "静的マッピングー々\n\u3000 \tkbKB0123ｶﾞ、.\ufa6e\U0002a6e0"
_ANY_TEXT = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from(_TOKENIZER_CHARACTERS)), max_size=30
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_ANY_TEXT, max_size=4))
@example(["静的 マッピング\nIPSec の設定", "kb0885348、ｶﾞｲﾄﾞ\u3000ガイド"])
@example(["静的\ufa6e変換 x\U0002a6e0 y"])
def test_segment_terms_follows_the_documented_rules_on_any_text(segments):
    """The fast, cached tokenizer against a plain reading of the rules, on arbitrary Unicode."""
    expected = _documented_terms(segments, FILLER, SECTION)
    for _ in range(2):  # the second time from the caches
        found = segment_terms(segments, FILLER, SECTION)
        assert (found.terms, found.positions(), found.marked) == expected
        assert found.last == (expected[1][-1] if expected[1] else -1)


def test_cjk_code_points_that_are_not_letters_lie_where_the_tokenizer_looks_for_them():
    """Outside UNASSIGNED_CJK every CJK character is a letter or digit ([^\\W_])."""
    letter = re.compile(r"[^\W_]")
    odd = [
        code
        for code in range(0x3000, 0x32000)
        if _CJK.match(chr(code)) and not letter.match(chr(code))
    ]
    assert odd, "this Python's Unicode leaves some CJK code points unassigned"
    assert all(UNASSIGNED_CJK.match(chr(code)) for code in odd)
