"""The matcher's shortcuts give what the general path gives: a short, already collapsed
text is its own snippet; an aligned folding with no run of spaces shifts nothing; hits
written as JSON directly are what json's encoder writes of their dicts."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.model import Hit, hits_json
from monitor.rules.fields import _runs, _squeezes
from monitor.rules.snippet import WIDTH, _window, make_snippet, snippet_text

# words of letters, Arabic and punctuation, with every kind of whitespace between them
_WORD = st.text(st.sampled_from("aZé,.«»لناتو-"), min_size=1, max_size=12)
_GAP = st.sampled_from([" ", " ", " ", "  ", "\t", "\n", " \n ", "\u00a0", "\u2003"])


@st.composite
def _texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORD, min_size=1, max_size=40))
    if draw(st.booleans()):
        return " ".join(words)  # collapsed already: the shortcut's case when short
    text = words[0]
    for word in words[1:]:
        text += draw(_GAP) + word
    return draw(st.sampled_from(["", " ", "\n"])) + text + draw(st.sampled_from(["", " "]))


@settings(max_examples=400, deadline=None)
@given(_texts(), st.data())
def test_snippet_shortcut_is_the_window(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    width = data.draw(st.sampled_from([WIDTH, 40, len(text), max(1, len(text) - 1)]))
    assert make_snippet(text, start, end, width) == _window(text, start, end, width)
    assert snippet_text(text, start, end, width) == _window(text, start, end, width).text


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab "), max_size=60))
def test_squeezes_shortcut_is_the_runs(aligned: str) -> None:
    assert _squeezes(aligned) == _runs(aligned)


_HIT = st.builds(
    Hit,
    st.sampled_from(["title", "summary", "content", "url"]),
    st.text(),  # any character: quotes, backslashes, controls, lone surrogates
    st.integers(0, 10**7),
    st.integers(0, 10**7),
    st.text(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_HIT, max_size=4))
def test_hits_json_is_what_the_encoder_writes(hits: list[Hit]) -> None:
    dicts = [
        {"field": h.field, "term": h.term, "start": h.start, "end": h.end, "snippet": h.snippet}
        for h in hits
    ]
    assert hits_json(hits) == json.dumps(dicts, ensure_ascii=False)
