"""The one place that builds the spaCy pipeline.

No model downloads exist here: a blank English pipeline with the rule-based
``sentencizer`` and the lookup ``lemmatizer`` (tables from spacy-lookups-data).
"""

from __future__ import annotations

from functools import lru_cache

import spacy
from spacy.language import Language


def build_pipeline(*, lemmatizer: bool = True) -> Language:
    """A fresh pipeline: tokenizer + sentencizer (+ lookup lemmatizer)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    if lemmatizer:
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
    return nlp


@lru_cache(maxsize=2)
def shared_pipeline(*, lemmatizer: bool = True) -> Language:
    """A pipeline shared within the process (building one loads lookup tables, ~0.5 s)."""
    return build_pipeline(lemmatizer=lemmatizer)
