"""Turn documents into coding units: document -> turns -> segments.

A segment is one to ``max_sentences`` consecutive sentences inside one paragraph of
one turn. Offsets are Unicode code points into ``Document.text``, end-exclusive, so
``document.text[s.start:s.end] == s.text`` always holds. Literature excerpts are one
segment each by default. Interviewer turns are kept but marked not codable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from spacy.language import Language

from .corpus.model import Document, Turn
from .nlp import shared_pipeline

INTERVIEWER = re.compile(
    r"^\s*(interviewer|moderator|facilitator|int\.?|i|q|question)(\s*\d+)?(\s*\(.*\))?\s*$", re.IGNORECASE
)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")


def is_interviewer(speaker: str | None) -> bool:
    """True for labels such as 'Interviewer', 'I', 'Q', 'Moderator (Dana)'."""
    return bool(speaker) and INTERVIEWER.match(speaker) is not None


@dataclass(frozen=True)
class Segment:
    """A coding unit: a span of a document inside one turn."""

    document: str
    turn: int
    index: int
    start: int
    end: int
    text: str
    speaker: str | None = None
    codable: bool = True


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _paragraphs(document: Document, turn: Turn) -> Iterator[tuple[int, int]]:
    """Absolute (start, end) of each non-blank paragraph of a turn."""
    text, pos = document.text, turn.start
    for m in _PARAGRAPH_BREAK.finditer(text, turn.start, turn.end):
        yield _trimmed(text, pos, m.start())
        pos = m.end()
    yield _trimmed(text, pos, turn.end)


class Segmenter:
    """Splits documents into segments with a spaCy sentencizer.

    Parameters
    ----------
    max_sentences:
        Sentences per segment in transcripts (default 3).
    literature_max_sentences:
        Sentences per segment in literature excerpts; ``None`` keeps each excerpt whole.
    code_interviewer:
        Mark interviewer turns codable too (off by default).
    nlp:
        The pipeline to use; by default the shared pipeline with only the sentencizer
        enabled (segmentation needs no lemmas).
    """

    def __init__(
        self,
        *,
        max_sentences: int = 3,
        literature_max_sentences: int | None = None,
        code_interviewer: bool = False,
        nlp: Language | None = None,
        batch_size: int = 256,
    ) -> None:
        if max_sentences < 1 or (literature_max_sentences is not None and literature_max_sentences < 1):
            raise ValueError("max_sentences must be at least 1")
        self.max_sentences = max_sentences
        self.literature_max_sentences = literature_max_sentences
        self.code_interviewer = code_interviewer
        self.nlp = nlp if nlp is not None else shared_pipeline(lemmatizer=False)
        self.batch_size = batch_size

    def _limit(self, document: Document) -> int | None:
        return self.literature_max_sentences if document.kind == "literature" else self.max_sentences

    def segment(self, document: Document) -> list[Segment]:
        """All segments of one document, in reading order."""
        return next(self.segment_many([document]))[1]

    def segment_many(self, documents: Iterable[Document]) -> Iterator[tuple[Document, list[Segment]]]:
        """Segments per document, streaming: one document is held at a time."""
        for document in documents:
            yield document, self._segment(document)

    def _segment(self, document: Document) -> list[Segment]:
        limit = self._limit(document)
        pieces: list[tuple[int, int, int]] = []  # (turn index, start, end)
        for t, turn in enumerate(document.turns):
            for start, end in _paragraphs(document, turn):
                if end > start:
                    pieces.append((t, start, end))
        spans: list[tuple[int, int, int]] = []
        if limit is None:
            spans = pieces
        else:
            texts = (document.text[s:e] for _, s, e in pieces)
            for (t, start, _), doc in zip(pieces, self.nlp.pipe(texts, batch_size=self.batch_size)):
                sents = list(doc.sents)
                for i in range(0, len(sents), limit):
                    group = sents[i:i + limit]
                    s, e = _trimmed(document.text, start + group[0].start_char, start + group[-1].end_char)
                    if e > s:
                        spans.append((t, s, e))
        segments = []
        for index, (t, s, e) in enumerate(spans):
            speaker = document.turns[t].speaker
            segments.append(Segment(
                document=document.name, turn=t, index=index, start=s, end=e, text=document.text[s:e],
                speaker=speaker, codable=self.code_interviewer or not is_interviewer(speaker),
            ))
        return segments
