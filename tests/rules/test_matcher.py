"""Matching: every operator, proclitics, fields, scopes and hit offsets, in Arabic and English."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import QuerySyntaxError
from monitor.model import Document
from monitor.parse.documents import load_documents
from monitor.rules.matcher import RuleError, RuleSpec, check_rules, compile_rules
from tests.conftest import SEED_RELEASE

CONCEPTS = {"nato": ["NATO", "OTAN", "N.A.T.O.", "الناتو", "حلف شمال الأطلسي"]}


def matches(query: str, text: str, **fields: str) -> bool:
    matcher = compile_rules([RuleSpec("r", "r", query)], CONCEPTS)
    return bool(matcher.match(Document(title="", content=text, **fields)))


CASES = [
    # query, text, matches
    ("NATO", "Qatar and NATO met", True),
    ("NATO", "Senator Smith", False),
    ("nato", "the N.A.T.O. summit", False),  # n a t o are four words
    ("N.A.T.O.", "the N.A.T.O. summit", True),
    ("OTAN", "l'OTAN à Bruxelles", True),
    ("sécurité", "la securite", True),
    ("security", "Sécurity", True),
    ("الناتو", "حلف /الناتو/ في", True),
    ("الناتو", 'حلف "الناتو"، في', True),
    ("الناتو", "(الناتو)", True),
    ("/الناتو/", "الناتو", True),
    ('"الناتو"', "والناتو", True),
    ("الناتو", "ناتو", True),
    ("الناتو", "والناتو", True),
    ("الناتو", "بالناتو", True),
    ("الناتو", "للناتو", True),
    ("الناتو", "فالناتو", True),
    ("الناتو", "وللناتو", True),
    ("الناتو", "كالناتو", True),
    ("الناتو", "الناتوي", False),  # no suffix stripping
    ("الناتو", "لالناتو", False),  # ل + ال is written لل
    ("أمن", "الأمن", True),
    ("أمن", "وبالأمن", True),
    ("أمن", "أمنية", False),
    ("أمن", "الأمنية", False),
    ("أمن*", "الأمنية", True),
    ("حلف", "لحلف", True),
    ('"حلف شمال الأطلسي"', "الأمين العام لحلف شمال الأطلسي", True),
    ('"حلف شمال الأطلسي"', "حلف شمال والأطلسي", False),  # only the first word
    ('"حلف شمال الأطلسي"', "المحيط الأطلسي", False),
    ("@nato", "المحيط الأطلسي", False),
    ("@nato", "الأمين العام لحلف شمال الأطلسي", True),
    ('"الأمن السيبراني"', "المرتبطة بالأمن السيبراني تشكل", True),
    ('"الدفاع السيبراني"', "والتعليم والدفاع السيبراني وأمن", True),
    ('"الأمن السيبراني"', "الأمن السيبرانية", False),
    ("سيبران*", "السيبرانية", True),
    ("cyber*", "Cybersecurity matters", True),
    ("cyber*", "a cyber-attack", True),
    ("cyber*", "hypercyber", False),
    ('"cyber attack"', "a cyber-attack", True),
    ("cyber-attack", "cyber attack", True),
    # folding in the text
    ("الأمن", "الأَمْنُ", True),
    ("السيبراني", "السيبرانـــي", True),
    ("الناتو", "\ufe8d\ufedf\ufee8\ufe8e\ufe97\ufeed", True),
    ("2019", "مارس ٢٠١٩", True),
    ("٢٠١٩", "March 2019", True),
    ("الناتو", "ال\u200cناتو", True),
    ("الناتو", "\u200fالناتو\u200f", True),
    ("Qatar الناتو", "\u202bQatar\u202c و\u2067الناتو\u2069", True),
    # operators
    ("a b", "b x a", True),
    ("a AND b", "a x", False),
    ("a OR b", "b", True),
    ("a -b", "a c", True),
    ("a -b", "a b", False),
    ("a NOT b", "a b", False),
    ("a NEAR/2 b", "a x b", True),
    ("a NEAR/2 b", "b x a", True),
    ("a NEAR/2 b", "a x y b", False),
    ("a ONEAR/2 b", "b x a", False),
    ("a ONEAR/2 b", "a x b", True),
    ('"x y" NEAR/2 b', "x y b", True),  # a phrase's position is its first word
    ('"x y" NEAR/1 b', "x y b", False),
    ("(a OR c) NEAR/1 b", "c b", True),
    ("a NEAR/1 b NEAR/1 c", "a b c", True),
    ("a NEAR/1 b NEAR/1 c", "a b x c", False),
    ("a NEAR/3 a", "a", False),
    ("a NEAR/3 a", "a x a", True),
    ("طالبان NEAR/5 الولايات", "بين الولايات المتحدة وحركة طالبان", True),
]


@pytest.mark.parametrize(("query", "text", "expected"), CASES)
def test_match(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_positions_do_not_run_across_fields() -> None:
    matcher = compile_rules([RuleSpec("r", "r", '"a b" OR c NEAR/1 d')], {})
    assert not matcher.match(Document(title="x a", summary="b c", content="d"))
    assert matcher.match(Document(title="a b"))


FIELDS = [
    ("title:NATO", Document(title="NATO", content="x"), True),
    ("title:NATO", Document(title="x", content="NATO"), False),
    ("summary:NATO", Document(title="x", summary="NATO"), True),
    ("content:NATO", Document(title="NATO"), False),
    ("text:NATO", Document(title="x", summary="NATO"), True),
    ("title:(a OR b) c", Document(title="b", content="c"), True),
    ("source:mofa-qa-ar NATO", Document(title="NATO", source="mofa-qa-ar"), True),
    ("source:mofa-qa-ar NATO", Document(title="NATO", source="mofa-qa-en"), False),
    ("lang:ar", Document(title="x", lang="ar-QA"), True),
    ("lang:ar", Document(title="x", lang="en"), False),
    ("url:/AR/ NATO", Document(title="NATO", url="https://x.qa/ar/1"), True),
    ("url:/en/ NATO", Document(title="NATO", url="https://x.qa/ar/1"), False),
    ("NATO -source:x", Document(title="NATO", source="x"), False),
]


@pytest.mark.parametrize(("query", "doc", "expected"), FIELDS)
def test_fields(query: str, doc: Document, expected: bool) -> None:
    matcher = compile_rules([RuleSpec("r", "r", query)], {})
    assert bool(matcher.match(doc)) is expected


def test_scopes() -> None:
    rules = [
        RuleSpec("any", "any", "NATO"),
        RuleSpec("src", "src", "NATO", sources=("a",)),
        RuleSpec("ar", "ar", "NATO", languages=("ar",)),
    ]
    matcher = compile_rules(rules, {})
    found = matcher.match(Document(title="NATO", source="b", lang="ar-QA"))
    assert [m.rule_id for m in found] == ["any", "ar"]
    found = matcher.match(Document(title="NATO", source="a"))
    assert [m.rule_id for m in found] == ["any", "src"]
    every = matcher.match(Document(title="NATO"), ignore_scopes=True)
    assert [m.rule_id for m in every] == ["any", "src", "ar"]


def test_hits_name_field_term_offsets_and_snippet() -> None:
    text = "قال إن دولة قطر وحلف /الناتو/ في بروكسل"
    matcher = compile_rules([RuleSpec("nato", "NATO", "الناتو -foo")], {})
    (match,) = matcher.match(Document(title="", content=text))
    (hit,) = match.hits
    assert (hit.field, hit.term) == ("content", "الناتو")
    assert text[hit.start : hit.end] == "الناتو"
    assert "الناتو" in hit.snippet


def test_not_branch_is_not_highlighted() -> None:
    matcher = compile_rules([RuleSpec("r", "r", "a -(b c)")], {})
    (match,) = matcher.match(Document(title="a b"))
    assert [h.term for h in match.hits] == ["a"]


def test_offsets_survive_folding() -> None:
    text = "xx \ufe8d\ufedf\ufee8\ufe8e\ufe97\ufeed و الأَمْنُ السيبرانـــي"
    matcher = compile_rules([RuleSpec("r", "r", 'الناتو "الأمن السيبراني"')], {})
    (match,) = matcher.match(Document(title=text))
    assert [text[h.start : h.end] for h in match.hits] == [
        "\ufe8d\ufedf\ufee8\ufe8e\ufe97\ufeed",
        "الأَمْنُ السيبرانـــي",
    ]
    assert [h.term for h in match.hits] == [text[h.start : h.end] for h in match.hits]


SEED_RULES = [
    RuleSpec("nato", "NATO", 'NATO OR OTAN OR الناتو OR "حلف شمال الأطلسي"'),
    RuleSpec(
        "cyber",
        "Cyber",
        'cyber* OR "الأمن السيبراني" OR "الدفاع السيبراني" OR "الدفاع الإلكتروني"',
    ),
]


def test_seed_release_matches_spec_rules() -> None:
    ((_, doc),) = load_documents(str(SEED_RELEASE))
    matcher = compile_rules(SEED_RULES, {})
    found = {m.rule_id: m for m in matcher.match(doc)}
    assert set(found) == {"nato", "cyber"}
    for match in found.values():
        for hit in match.hits:
            assert getattr(doc, hit.field)[hit.start : hit.end] == hit.term
    assert found["nato"].hits[0].field == "title"
    assert found["nato"].hits[0].term == "لحلف شمال الأطلسي"
    cyber = [h.term for h in found["cyber"].hits]
    assert cyber == ["والدفاع السيبراني", "بالأمن السيبراني", "الدفاع الإلكتروني"]
    title_hits = [h.term for h in found["nato"].hits if h.field == "title"]
    assert title_hits == ["لحلف شمال الأطلسي", "الناتو"]


def test_rules_without_candidates_are_never_evaluated() -> None:
    matcher = compile_rules([RuleSpec("a", "a", "NATO"), RuleSpec("b", "b", "x -y")], {})
    assert matcher.match(Document(title="nothing here")) == []


def test_rule_errors_name_the_rule() -> None:
    rules = [RuleSpec("ok", "ok", "a"), RuleSpec("bad", "bad", "(a OR"), RuleSpec("c", "c", "@x")]
    with pytest.raises(RuleError) as raised:
        compile_rules(rules, {})
    error = raised.value
    assert isinstance(error, QuerySyntaxError)
    assert (error.index, error.rule_id, error.column) == (1, "bad", 6)
    assert str(error) == "rules[1].query: expected a term at column 6"
    assert [str(e) for e in check_rules(rules, {})] == [
        "rules[1].query: expected a term at column 6",
        "rules[2].query: unknown concept @x at column 1",
    ]


def test_matcher_is_immutable() -> None:
    matcher = compile_rules([RuleSpec("a", "a", "NATO")], {})
    with pytest.raises(AttributeError):
        matcher.extra = 1  # type: ignore[attr-defined]


def test_empty_rule_set() -> None:
    assert compile_rules([], {}).match(Document(title="NATO")) == []


def test_shipped_concepts_load_and_compile() -> None:
    import yaml

    path = Path(__file__).resolve().parents[2] / "config" / "monitor.yaml"
    concepts = yaml.safe_load(path.read_text(encoding="utf-8"))["concepts"]
    rules = [RuleSpec(name, name, f"@{name}") for name in concepts]
    matcher = compile_rules(rules, concepts)
    ((_, doc),) = load_documents(str(SEED_RELEASE))
    found = {m.rule_id for m in matcher.match(doc)}
    assert {"nato", "cyber", "afghanistan", "counter_terrorism", "gulf_blockade"} <= found
