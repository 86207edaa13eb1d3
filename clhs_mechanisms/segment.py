"""Turn documents into coding units: document -> turns -> segments.

A segment is one to ``max_sentences`` consecutive sentences inside one paragraph of
one turn, and never more than ``max_words`` words (default :data:`MAX_WORDS`, 80) or
``max_chars`` characters (default ``max_words`` x :data:`CHARS_PER_WORD`): sentences are
grouped while they fit, and a sentence longer than that (speech without punctuation:
Whisper or YouTube captions) is cut between words, preferably at a line break or after a
comma, never inside a bracketed annotation such as ``[inaudible 00:12:31]``; a "word" longer
than ``max_chars`` (text without spaces) is cut where it must. Pauses and timestamps cut
turns in the readers (:mod:`.corpus.cues`), so segments never run across them either.
Offsets are Unicode code points into ``Document.text``, end-exclusive, so
``document.text[s.start:s.end] == s.text`` always holds. Literature excerpts are one
segment each by default. Interviewer turns are kept but marked not codable: role labels
(Interviewer, I, Q, Moderator) and the speakers named in ``interviewers``.
"""

from __future__ import annotations

import re
import unicodedata
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
_WORD = re.compile(r"\S+")
LONG_RUN = 64  # characters without a space that spaCy gets in pieces (see _parsable)
_BLOCK = 128
_LONG_RUN = re.compile(rf"\S{{{LONG_RUN},}}")
_ANNOTATIONS = re.compile(
    r"(?:\[[^\[\]\n]{1,80}\]|\([^()\n]{1,80}\))(?:\s+(?:\[[^\[\]\n]{1,80}\]|\([^()\n]{1,80}\)))*[.!?]?"
)
MAX_PIECE_CHARS = 100_000  # text handed to spaCy at once
MAX_WORDS = 80  # words in a transcript segment, at most
CHARS_PER_WORD = 12  # max_chars = max_words * this, unless given
_OPENERS = frozenset("[(“‘\"'«¿¡")  # punctuation that opens the sentence after it, not ends the one before
_CLAUSE_END = (",", ";", ":", "–", "—")


def speaker_key(name: str) -> str:
    """A speaker's name as names are compared: without case and extra blanks."""
    return " ".join(name.split()).casefold()


def document_interviewers(document: Document) -> list[str]:
    """The names in a document's ``interviewer`` attribute (front matter or the attributes sidecar),
    separated by ``;``."""
    value = next((v for k, v in document.attributes.items() if k.casefold() == "interviewer"), "")
    return [name.strip() for name in value.split(";") if name.strip()]


def is_interviewer(speaker: str | None, names: Iterable[str] = ()) -> bool:
    """True for role labels such as 'Interviewer', 'I', 'Q', 'Moderator (Dana)', and for speakers
    named in ``names`` (compared without case and extra blanks: Zoom, Teams and Otter name people)."""
    if not speaker:
        return False
    return INTERVIEWER.match(speaker) is not None or speaker_key(speaker) in {
        speaker_key(name) for name in names
    }


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
    interviewers:
        Speaker names whose turns are the interviewer's (not codable), besides role labels.
    max_words, max_chars:
        The most a transcript segment holds (default 80 words, ``max_words`` x 12 characters).
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
        interviewers: Iterable[str] = (),
        max_words: int = MAX_WORDS,
        max_chars: int | None = None,
        nlp: Language | None = None,
        batch_size: int = 256,
    ) -> None:
        if max_sentences < 1 or (literature_max_sentences is not None and literature_max_sentences < 1):
            raise ValueError("max_sentences must be at least 1")
        if max_words < 1 or (max_chars is not None and max_chars < 1):
            raise ValueError("max_words and max_chars must be at least 1")
        self.max_sentences = max_sentences
        self.literature_max_sentences = literature_max_sentences
        self.code_interviewer = code_interviewer
        self.interviewers = tuple(interviewers)
        self._interviewer_keys = frozenset(map(speaker_key, self.interviewers))
        self.max_words = max_words
        self.max_chars = max_chars if max_chars is not None else max_words * CHARS_PER_WORD
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
            self.interviewers,
            self.max_words,
            self.max_chars,
        )

    def is_interviewer(self, speaker: str | None) -> bool:
        """A role label or one of ``interviewers`` (see :func:`is_interviewer`)."""
        if not speaker:
            return False
        return INTERVIEWER.match(speaker) is not None or speaker_key(speaker) in self._interviewer_keys

    def _limits(self, document: Document) -> _Limits | None:
        if document.kind == "literature":
            sentences = self.literature_max_sentences
            return None if sentences is None else _Limits(sentences, None, None)
        return _Limits(self.max_sentences, self.max_words, self.max_chars)

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
                    job = _Job(document, self._limits(document))
                    jobs.append(job)
                    if job.limits is not None:
                        for _, start, end in job.pieces:
                            yield _parsable(document.text[start:end]), job
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
        named = document_interviewers(document)  # the document's own `interviewer` attribute
        codable = [
            self.code_interviewer or not (self.is_interviewer(speaker) or is_interviewer(speaker, named))
            for speaker in speakers
        ]
        return [
            Segment(document.name, t, index, s, e, document.text[s:e], speakers[t], codable[t])
            for index, (t, s, e) in enumerate(job.spans)
        ]


class _Limits(NamedTuple):
    sentences: int
    words: int | None  # None: no ceiling (literature excerpts split by sentences only)
    chars: int | None


def _parsable(text: str) -> str:
    """``text`` as spaCy gets it: the same length (offsets stay true), but runs of :data:`LONG_RUN`
    characters or more without white space are broken by a space every :data:`LONG_RUN` // 2
    characters: the tokenizer takes time quadratic in a token's length (20,000 quotes: 50 s). Only
    a text with a stretch of :data:`_BLOCK` characters without a space is searched for them."""
    if len(text) < 2 * _BLOCK or all(
        text.count(" ", i, i + _BLOCK) for i in range(0, len(text) - _BLOCK, _BLOCK)
    ):
        return text
    step = LONG_RUN // 2
    return _LONG_RUN.sub(
        lambda m: "".join(m[0][i : i + step - 1] + " " for i in range(0, len(m[0]), step))[: len(m[0])], text
    )


def _sentence_starts(text: str, start: int, end: int, starts: list[int]) -> list[int]:
    """Absolute sentence starts of ``text[start:end]`` (``starts``: offsets from ``start``), with
    annotations kept with a sentence: a start is moved back over the opening brackets and quotes
    just before it (the sentencizer ends a sentence after "so. [" and starts the next at
    "laughs]"), and a sentence that is only annotations ("[laughs]") joins the one before."""
    moved: list[int] = []
    for relative in starts:
        position = start + relative
        while position > start and text[position - 1] in _OPENERS:
            position -= 1
        moved.append(position if not moved or position > moved[-1] else start + relative)
    for i in range(len(moved) - 1, 0, -1):
        if text[moved[i]] in "[(":
            if _ANNOTATIONS.fullmatch(
                text, *_trimmed(text, moved[i], moved[i + 1] if i + 1 < len(moved) else end)
            ):
                del moved[i]
    return moved


def _words(text: str, start: int, end: int) -> int:
    return len(text[start:end].split())


def _grouped(text: str, sentences: list[tuple[int, int]], limits: _Limits) -> Iterator[tuple[int, int]]:
    """Runs of up to ``limits.sentences`` sentences that stay within the word and character ceilings;
    a sentence over a ceiling alone is cut by :func:`_cut`."""
    words_max, chars_max = limits.words, limits.chars
    assert words_max is not None and chars_max is not None  # transcripts only
    first = last = -1
    count = words = 0
    for s, e in sentences:
        n = _words(text, s, e)
        if first >= 0 and (count == limits.sentences or words + n > words_max or e - first > chars_max):
            yield first, last
            first = -1
        if n > words_max or e - s > chars_max:
            yield from _cut(text, s, e, words_max, chars_max)
            continue
        if first < 0:
            first, count, words = s, 0, 0
        last, count, words = e, count + 1, words + n
    if first >= 0:
        yield first, last


def _cut(text: str, start: int, end: int, max_words: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """Pieces of ``text[start:end]`` of at most ``max_words`` words and ``max_chars`` characters, cut
    between words: from halfway on, at the last line break, else after the last comma (or ``;``
    ``:`` dash), else at the last word, never inside brackets ("[inaudible 00:12:31]")."""
    words = [[m.start(), m.end()] for m in _WORD.finditer(text, start, end)]
    i = 0
    while i < len(words):
        begin, j, depth, best, best_rank = words[i][0], i, 0, -1, -1
        while j < len(words) and j - i < max_words and words[j][1] - begin <= max_chars:
            word = text[words[j][0] : words[j][1]]
            depth = max(0, depth + word.count("[") + word.count("(") - word.count("]") - word.count(")"))
            if depth == 0 and 2 * (j - i + 1) >= max_words and j + 1 < len(words):
                gap = text[words[j][1] : words[j + 1][0]]
                rank = 2 if "\n" in gap else 1 if word.endswith(_CLAUSE_END) else 0
                if rank >= best_rank:
                    best, best_rank = j, rank
            j += 1
        if j == len(words):
            yield begin, words[-1][1]
            return
        if j == i:  # one "word" longer than max_chars (text without spaces): cut inside it
            cut = _hard_cut(text, begin, max_chars)
            yield begin, cut
            words[i][0] = cut
            continue
        last = best if best >= 0 else j - 1
        yield begin, words[last][1]
        i = last + 1


def _hard_cut(text: str, begin: int, max_chars: int) -> int:
    """``begin + max_chars``, moved back so that no accent, joiner or variation selector starts a piece."""
    cut = begin + max_chars
    while cut > begin + 1 and (unicodedata.combining(text[cut]) or text[cut] in "\u200d\ufe0e\ufe0f"):
        cut -= 1
    return cut


class _Job:
    """One document on its way through the pipe: its paragraphs and the spans found so far."""

    __slots__ = ("document", "limits", "pieces", "spans", "parsed")

    def __init__(self, document: Document, limits: _Limits | None) -> None:
        self.document, self.limits = document, limits
        self.pieces = [
            (t, start, end)
            for t, turn in enumerate(document.turns)
            for start, end in _paragraphs(document, turn)
            if end > start
        ]
        self.spans: list[tuple[int, int, int]] = list(self.pieces) if limits is None else []
        self.parsed = 0

    @property
    def done(self) -> bool:
        return self.limits is None or self.parsed == len(self.pieces)

    def add(self, doc) -> None:
        """Group the sentences of the next paragraph (see :func:`_grouped`)."""
        assert self.limits is not None  # literature kept whole is never parsed
        t, start, end = self.pieces[self.parsed]
        self.parsed += 1
        text = self.document.text
        # Only whitespace lies between a sentence's last token and the next one's first, so
        # cutting at the next sentence's start and trimming gives exactly the sentence spans.
        starts = _sentence_starts(text, start, end, [sent.start_char for sent in doc.sents])
        starts.append(end)
        limits, last = self.limits, len(starts) - 1
        if (
            limits.words is None
            or limits.chars is None
            or (len(doc) <= limits.words and end - start <= limits.chars)
        ):
            for i in range(0, last, limits.sentences):  # fewer tokens than the word limit: no words to count
                s, e = _trimmed(text, starts[i], starts[min(i + limits.sentences, last)])
                if e > s:
                    self.spans.append((t, s, e))
            return
        sentences = []
        for i in range(last):
            s, e = starts[i], starts[i + 1]
            while e > s and text[e - 1].isspace():
                e -= 1
            if e > s:
                sentences.append((s, e))
        for s, e in _grouped(text, sentences, limits):
            self.spans.append((t, *_trimmed(text, s, e)))


def _rebuild(
    max_sentences,
    literature_max_sentences,
    code_interviewer,
    nlp,
    batch_size,
    interviewers,
    max_words,
    max_chars,
) -> Segmenter:
    return Segmenter(
        max_sentences=max_sentences,
        literature_max_sentences=literature_max_sentences,
        code_interviewer=code_interviewer,
        interviewers=interviewers,
        max_words=max_words,
        max_chars=max_chars,
        nlp=nlp,
        batch_size=batch_size,
    )
