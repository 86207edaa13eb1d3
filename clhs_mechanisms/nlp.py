"""The one place that builds the spaCy pipeline.

No model downloads exist here: a blank English pipeline with the rule-based
``sentencizer`` and the lookup ``lemmatizer`` (tables from spacy-lookups-data).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import spacy
from spacy.attrs import LEMMA, ORTH
from spacy.errors import Errors
from spacy.lang.en import English
from spacy.lang.en.lemmatizer import EnglishLemmatizer
from spacy.language import Language
from spacy.tokens import Doc


class LookupLemmatizer(EnglishLemmatizer):
    """spaCy's English lemmatizer in lookup mode, with one table lookup per distinct word form.

    The stock component builds a ``Token`` and looks the table up for every token, in Python: it
    took half the cue matcher's time in a suggestion pass. This one reads the tokens' ``ORTH``
    hashes as an array, looks each form up once per process (the table is keyed by the same
    hashes) and writes the lemmas back with ``Doc.from_array``. Same tables, same lemmas
    (``tests/test_nlp.py`` compares them with the stock component's).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.mode != "lookup":
            raise ValueError(f"{type(self).__name__} supports mode 'lookup' only, not '{self.mode}'")
        self._lemma_of: dict[int, int] = {}  # ORTH hash -> LEMMA hash

    def __call__(self, doc: Doc) -> Doc:
        if not self._validated:
            self._validate_tables(Errors.E1004)
        if not len(doc):
            return doc
        table, strings, lemma_of = (
            self.lookups.get_table("lemma_lookup", {}),
            self.vocab.strings,
            self._lemma_of,
        )
        if len(lemma_of) > 1_000_000:
            lemma_of.clear()
        orths = doc.to_array(ORTH).tolist()
        lemmas = list(map(lemma_of.get, orths))
        if None in lemmas:
            for i, (orth, lemma) in enumerate(zip(orths, lemmas)):
                if lemma is None:
                    found = table.get(orth)  # the table's keys are the forms' string hashes
                    if isinstance(found, list):
                        found = found[0]
                    lemmas[i] = lemma_of[orth] = orth if found is None else strings.add(found)
        new = np.asarray(lemmas, dtype=np.uint64)
        if not self.overwrite:  # like the stock component: keep lemmas set before
            current = doc.to_array(LEMMA)
            if current.any():
                new = np.where(current == 0, new, current)
        doc.from_array([LEMMA], new.reshape(-1, 1))
        return doc


@English.factory(
    "clhs_lookup_lemmatizer",
    assigns=["token.lemma"],
    default_config={
        "model": None,
        "mode": "lookup",
        "overwrite": False,
        "scorer": {"@scorers": "spacy.lemmatizer_scorer.v1"},
    },
    default_score_weights={"lemma_acc": 1.0},
)
def make_lookup_lemmatizer(
    nlp: Language, model, name: str, mode: str, overwrite: bool, scorer: Callable | None
) -> LookupLemmatizer:
    return LookupLemmatizer(nlp.vocab, model, name, mode=mode, overwrite=overwrite, scorer=scorer)


def build_pipeline(*, lemmatizer: bool = True) -> Language:
    """A fresh pipeline: tokenizer + sentencizer (+ lookup lemmatizer)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    if lemmatizer:
        nlp.add_pipe("clhs_lookup_lemmatizer", name="lemmatizer")
        nlp.initialize()
    return nlp


@lru_cache(maxsize=2)
def shared_pipeline(*, lemmatizer: bool = True) -> Language:
    """A pipeline shared within the process (building one loads lookup tables, ~0.5 s)."""
    return build_pipeline(lemmatizer=lemmatizer)
