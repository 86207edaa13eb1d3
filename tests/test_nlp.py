"""The pipeline's lookup lemmatizer gives exactly the stock spaCy component's lemmas."""

from __future__ import annotations

import json

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st

from clhs_mechanisms.nlp import LookupLemmatizer, build_pipeline
from clhs_mechanisms.shipped import shipped_corpus_path


@pytest.fixture(scope="module")
def pipelines():
    stock = spacy.blank("en")
    stock.add_pipe("sentencizer")
    stock.add_pipe("lemmatizer", config={"mode": "lookup"})
    stock.initialize()
    return build_pipeline(), stock


def _lemmas(nlp, texts):
    return [[(t.text, t.lemma_) for t in doc] for doc in nlp.pipe(texts)]


def test_same_lemmas_as_spacy_on_the_shipped_gold_texts(pipelines):
    ours, stock = pipelines
    assert isinstance(ours.get_pipe("lemmatizer"), LookupLemmatizer)
    path = shipped_corpus_path() / "gold" / "train.jsonl"
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]
    got = _lemmas(ours, texts)
    assert got == _lemmas(stock, texts)
    assert ("went", "go") in {pair for doc in got for pair in doc}  # lemmas really are set


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Was",
                "was",
                "WAS",
                "children's",
                "went",
                "data",
                "n't",
                "gonna",
                "😀",
                "e\u0301",
                "漢字",
                " ",
                "\n",
                "!",
                "Families",
                "better",
                "co-designed",
            ]
        ),
        max_size=25,
    ).map(" ".join)
)
def test_same_lemmas_as_spacy_on_any_text(pipelines, text):
    ours, stock = pipelines
    assert _lemmas(ours, [text]) == _lemmas(stock, [text])


def test_lemmas_set_earlier_are_kept(pipelines):
    ours, _ = pipelines
    doc = ours.make_doc("They went home")
    doc[1].lemma_ = "travel"
    ours.get_pipe("lemmatizer")(doc)
    assert [t.lemma_ for t in doc] == ["They", "travel", "home"]
