"""Turn documents into coding units: document -> turns -> segments.

A segment is one to ``max_sentences`` consecutive sentences inside one paragraph of
one turn. Offsets are Unicode code points into ``Document.text``, end-exclusive, so
``document.text[s.start:s.end] == s.text`` always holds. Literature excerpts are one
segment each by default. Interviewer turns are kept but marked not codable.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from spacy.language import Language

from .corpus.model import Document, Turn
from .nlp import shared_pipeline

INTERVIEWER = re.compile(
    r"^\s*(interviewer|moderator|facilitator|int\.?|i|q|question)(\s*\d+)?(\s*\(.*\))?\s*$", re.IGNORECASE
)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
MAX_PIECE_CHARS = 100_000  # text handed to spaCy at once


def is_interviewer(speaker: str | None) -> bool:
    """True for labels such as 'Interviewer', 'I', 'Q', 'Moderator (Dana)'."""
    return bool(speaker) and INTERVIEWER.match(speaker) is not None


class Segment(NamedTuple):
    """A coding unit: a span of a document inside one turn (a named tuple: imports make
    hundreds of thousands, and tuples are the cheapest to build)."""

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
    """Absolute (start, end) of each non-blank paragraph of a turn; a paragraph longer than
    :data:`MAX_PIECE_CHARS` comes in pieces cut at white space (spaCy refuses a text over a million
    characters, and a segment never spans the cut)."""
    text, pos = document.text, turn.start
    for m in _PARAGRAPH_BREAK.finditer(text, turn.start, turn.end):
        yield from _pieces(text, *_trimmed(text, pos, m.start()))
        pos = m.end()
    yield from _pieces(text, *_trimmed(text, pos, turn.end))


def _pieces(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while end - start > MAX_PIECE_CHARS:
        cut = text.rfind(" ", start + MAX_PIECE_CHARS // 2, start + MAX_PIECE_CHARS)
        cut = cut if cut > start else start + MAX_PIECE_CHARS  # no space at all: a hard cut
        yield _trimmed(text, start, cut)
        start = cut
    yield _trimmed(text, start, end)


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
        self._default_nlp = nlp is None
        self.nlp = nlp if nlp is not None else shared_pipeline(lemmatizer=False)
        self.batch_size = batch_size

    def __reduce__(self):
        """Pickle the settings, not the default pipeline (rebuilt in the receiving process)."""
        return _rebuild, (
            self.max_sentences,
            self.literature_max_sentences,
            self.code_interviewer,
            None if self._default_nlp else self.nlp,
            self.batch_size,
        )

    def _limit(self, document: Document) -> int | None:
        return self.literature_max_sentences if document.kind == "literature" else self.max_sentences

    def segment(self, document: Document) -> list[Segment]:
        """All segments of one document, in reading order."""
        return next(self.segment_many([document]))[1]

    def segment_many(self, documents: Iterable[Document]) -> Iterator[tuple[Document, list[Segment]]]:
        """Segments per document, in order, streaming.

        One ``nlp.pipe`` runs over the paragraphs of all documents (a pipe per document costs
        about a third more), so only the documents inside one batch are held at a time. An
        error raised while reading ``documents`` surfaces after every document before it.
        """
        jobs: deque[_Job] = deque()
        failure: list[BaseException] = []

        def texts() -> Iterator[tuple[str, _Job]]:
            try:
                for document in documents:
                    job = _Job(document, self._limit(document))
                    jobs.append(job)
                    if job.limit is not None:
                        for _, start, end in job.pieces:
                            yield document.text[start:end], job
            except Exception as exc:  # re-raised once the documents read before it are out
                failure.append(exc)

        for doc, job in self.nlp.pipe(texts(), as_tuples=True, batch_size=self.batch_size):
            job.add(doc)
            while jobs and jobs[0].done:
                yield jobs[0].document, self._segments(jobs.popleft())
        while jobs:
            yield jobs[0].document, self._segments(jobs.popleft())
        if failure:
            raise failure[0]

    def _segments(self, job: _Job) -> list[Segment]:
        document = job.document
        speakers = [turn.speaker for turn in document.turns]
        codable = [self.code_interviewer or not is_interviewer(speaker) for speaker in speakers]
        return [
            Segment(document.name, t, index, s, e, document.text[s:e], speakers[t], codable[t])
            for index, (t, s, e) in enumerate(job.spans)
        ]


class _Job:
    """One document on its way through the pipe: its paragraphs and the spans found so far."""

    __slots__ = ("document", "limit", "pieces", "spans", "parsed")

    def __init__(self, document: Document, limit: int | None) -> None:
        self.document, self.limit = document, limit
        self.pieces = [
            (t, start, end)
            for t, turn in enumerate(document.turns)
            for start, end in _paragraphs(document, turn)
            if end > start
        ]
        self.spans: list[tuple[int, int, int]] = list(self.pieces) if limit is None else []
        self.parsed = 0

    @property
    def done(self) -> bool:
        return self.limit is None or self.parsed == len(self.pieces)

    def add(self, doc) -> None:
        """Group the sentences of the next paragraph, ``limit`` at a time."""
        t, start, end = self.pieces[self.parsed]
        self.parsed += 1
        # Only whitespace lies between a sentence's last token and the next one's first, so
        # cutting at the next sentence's start and trimming gives exactly the sentence spans.
        starts = [sent.start_char for sent in doc.sents]
        starts.append(end - start)
        text, last = self.document.text, len(starts) - 1
        for i in range(0, last, self.limit):
            s, e = _trimmed(text, start + starts[i], start + starts[min(i + self.limit, last)])
            if e > s:
                self.spans.append((t, s, e))


def _rebuild(max_sentences, literature_max_sentences, code_interviewer, nlp, batch_size) -> Segmenter:
    return Segmenter(
        max_sentences=max_sentences,
        literature_max_sentences=literature_max_sentences,
        code_interviewer=code_interviewer,
        nlp=nlp,
        batch_size=batch_size,
    )
