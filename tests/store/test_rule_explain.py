"""Why a release matched, in words: each term once per field, however it was written."""

from __future__ import annotations

from monitor.model import Hit
from monitor.store.rule_test import explain


def test_explain_names_each_term_once_per_field() -> None:
    hits = [
        Hit("title", "الناتو", 0, 6, ""),
        Hit("summary", "الناتو", 3, 9, ""),
        Hit("summary", "الـناتو", 20, 27, ""),  # a tatweel: the same word
        Hit("summary", "\u200fالناتو", 40, 47, ""),  # a direction mark: the same word
        Hit("content", "NATO", 5, 9, ""),
    ]
    assert explain(hits) == (
        "matched “الناتو” in the title; “الناتو” in the summary; “NATO” in the content (5 hits)"
    )
    assert explain(hits[:1]) == "matched “الناتو” in the title"
