"""spaCy's pipes with their work remembered (nlp_cache) give exactly spaCy's own annotations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import spacy

from briefer.nlp_cache import CachedLemmas, RuleMatches
from briefer.sentences import load_nlp

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "us-russia-riyadh-talks.txt"
EVAL = ROOT.parent / "shared" / "eval"


def _spacy_ruler() -> tuple[spacy.language.Language, Any]:
    """The English pipeline as spaCy loads it, and its attribute ruler without remembered matches."""
    nlp = spacy.load(_model_name(), exclude=["parser"])
    nlp.enable_pipe("senter")
    return nlp, nlp.get_pipe("attribute_ruler")


def _model_name() -> str:
    from briefer.sentences import SPACY_MODELS

    for name in SPACY_MODELS:
        if spacy.util.is_package(name):
            return name
    pytest.skip("no spaCy English model is installed")


def _assert_same_matches(texts: list[str]) -> int:
    nlp, ruler = _spacy_ruler()
    faster = RuleMatches.for_ruler(ruler)
    assert faster is not None
    compared = 0
    for doc in nlp.pipe(texts, disable=["attribute_ruler", "lemmatizer", "ner"]):
        assert faster(doc) == ruler.match(doc), doc.text[:80]
        compared += len(doc)
    return compared


def test_the_loaded_pipeline_uses_the_remembered_work() -> None:
    nlp = load_nlp()
    assert isinstance(nlp.get_pipe("attribute_ruler").match, RuleMatches)
    assert isinstance(nlp.get_pipe("lemmatizer").pipe.__self__, CachedLemmas)


def test_the_seed_gets_exactly_spacys_matches() -> None:
    assert _assert_same_matches(SEED.read_text(encoding="utf-8").split("\n")) > 500


def test_real_news_gets_exactly_spacys_matches() -> None:
    documents = EVAL / "multiling2011_sacrerouge" / "documents.jsonl"
    if not documents.exists():
        pytest.skip(f"{EVAL} is absent: the real-news comparison needs ../shared/eval")
    paragraphs = []
    with documents.open(encoding="utf-8") as f:
        for line in f:
            for doc in json.loads(line)["documents"]:
                paragraphs += [p for p in doc["text"] if p.strip()]
    assert _assert_same_matches(paragraphs) > 10_000


def test_hand_made_rules_match_as_spacys_matcher_does() -> None:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")
    ruler.add([[{"LOWER": "the"}]], {"LEMMA": "THE"})
    ruler.add([[{"LOWER": {"IN": ["a", "an"]}}]], {"LEMMA": "A"})
    ruler.add([[{"LOWER": {"NOT_IN": ["a", "the"]}, "IS_PUNCT": False}]], {"NORM": "word"})
    ruler.add([[{"LOWER": {"REGEX": "^n[ou]thin'?$"}}]], {"LEMMA": "nothing"})
    ruler.add([[{"IS_PUNCT": True}], [{"LOWER": "and"}]], {"NORM": "mark"})
    ruler.add([[{"LOWER": "gon"}, {"LOWER": "na"}]], {"LEMMA": "to"}, index=1)
    faster = RuleMatches.for_ruler(ruler)
    assert faster is not None
    doc = nlp("The nothin an apple, a nuthin gon na go and the end.")
    assert faster(doc) == ruler.match(doc)
    assert faster(doc)  # the rules do match here: the comparison is not of two empty lists


def test_rules_of_other_kinds_keep_spacys_own_matching() -> None:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")
    ruler.add([[{"LENGTH": {">=": 3}}]], {"NORM": "long"})
    assert RuleMatches.for_ruler(ruler) is None
    ruler = nlp.replace_pipe("attribute_ruler", "attribute_ruler")
    ruler.add([[{"LOWER": "a"}], [{"LOWER": "b"}, {"LOWER": "c"}]], {"NORM": "x"})
    assert RuleMatches.for_ruler(ruler) is None


def test_lemmas_parts_of_speech_and_entities_are_spacys_own() -> None:
    from spacy.attrs import ENT_IOB, ENT_TYPE, LEMMA, MORPH, ORTH, POS, SENT_START, TAG

    texts = SEED.read_text(encoding="utf-8").split("\n")
    documents = EVAL / "multiling2011_sacrerouge" / "documents.jsonl"
    if documents.exists():  # more words when the real-news folder is there
        with documents.open(encoding="utf-8") as f:
            texts += [p for line in f for doc in json.loads(line)["documents"] for p in doc["text"]]
    plain, _ = _spacy_ruler()
    attributes = [ORTH, TAG, POS, MORPH, LEMMA, ENT_IOB, ENT_TYPE, SENT_START]
    compared = 0
    for ours, theirs in zip(load_nlp().pipe(texts), plain.pipe(texts), strict=True):
        assert (ours.to_array(attributes) == theirs.to_array(attributes)).all(), ours.text[:80]
        assert [t.lemma_ for t in ours] == [t.lemma_ for t in theirs]
        compared += len(ours)
    assert compared > 500


def test_full_tables_start_afresh_and_give_the_same_annotations(monkeypatch: pytest.MonkeyPatch) -> None:
    from spacy.attrs import LEMMA, MORPH, POS, TAG

    import briefer.nlp_cache

    monkeypatch.setattr(briefer.nlp_cache, "_MAX_KINDS", 2)
    monkeypatch.setattr(briefer.nlp_cache, "_MAX_LEMMAS", 3)
    ours, _ = _spacy_ruler()
    briefer.nlp_cache.speed_up(ours)
    plain, _ = _spacy_ruler()
    texts = SEED.read_text(encoding="utf-8").split("\n")
    for a, b in zip(ours.pipe(texts), plain.pipe(texts), strict=True):
        assert (a.to_array([TAG, POS, MORPH, LEMMA]) == b.to_array([TAG, POS, MORPH, LEMMA])).all()
    lemmas = ours.get_pipe("lemmatizer").pipe.__self__._lemmas
    assert 0 < len(lemmas) <= 3
