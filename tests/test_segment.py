"""Segmentation: offsets are exact, segments stay inside turns, interviewer turns not codable."""

from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from clhs_mechanisms import Document, Segmenter, Turn
from clhs_mechanisms.segment import is_interviewer


def _doc(parts: list[tuple[str | None, str]], kind: str = "interview") -> Document:
    text, turns = "", []
    for speaker, content in parts:
        label = f"{speaker}: " if speaker else ""
        start = len(text) + len(label)
        text += label + content + "\n"
        turns.append(Turn(start, start + len(content), speaker))
    return Document("d.txt", kind, text, tuple(turns), "0" * 64)


def test_groups_sentences_and_respects_paragraphs():
    doc = _doc([("Interviewer", "Why? Tell me."), ("P01", "One. Two! Three? Four.\n\nFive after a break.")])
    segs = Segmenter(max_sentences=3).segment(doc)
    assert [s.text for s in segs] == ["Why? Tell me.", "One. Two! Three?", "Four.", "Five after a break."]
    assert [s.codable for s in segs] == [False, True, True, True]
    assert [s.index for s in segs] == [0, 1, 2, 3]
    assert all(doc.text[s.start : s.end] == s.text for s in segs)


def test_literature_excerpt_is_one_segment_by_default():
    doc = _doc([(None, "First sentence. Second sentence. Third. Fourth one.")], kind="literature")
    assert [s.text for s in Segmenter().segment(doc)] == [
        "First sentence. Second sentence. Third. Fourth one."
    ]
    assert len(Segmenter(literature_max_sentences=2).segment(doc)) == 2


def test_interviewer_labels():
    assert all(map(is_interviewer, ["Interviewer", "I", "Q", "moderator (Dana)", "Interviewer 2"]))
    assert not any(map(is_interviewer, ["P01", "Parent (Maria)", "Dr. Okafor", None]))
    doc = _doc([("Interviewer", "Question here.")])
    assert Segmenter(code_interviewer=True).segment(doc)[0].codable


NASTY = st.lists(
    st.sampled_from(
        list("abc XYZ.!?,;\n\t\r") + ["😀", "👩‍👩‍👧", "漢字", "e\u0301", "\u00a0", "\u200b", "ß", "ﬁ", "—"]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([None, "Interviewer", "P02"]), NASTY), min_size=1, max_size=6),
    st.integers(1, 4),
)
def test_offsets_are_exact_on_nasty_text(parts, n):
    doc = _doc(parts)
    segs = Segmenter(max_sentences=n).segment(doc)
    last_end = 0
    for s in segs:
        assert doc.text[s.start : s.end] == s.text
        assert s.text and s.text == s.text.strip()
        turn = doc.turns[s.turn]
        assert turn.start <= s.start < s.end <= turn.end
        assert s.start >= last_end
        last_end = s.end
    # every non-space character of every turn is in some segment
    covered = set()
    for s in segs:
        covered.update(range(s.start, s.end))
    for turn in doc.turns:
        for i in range(turn.start, turn.end):
            if not doc.text[i].isspace():
                assert i in covered


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, "Interviewer", "P02"]), NASTY), min_size=1, max_size=6))
def test_documents_survive_pickling_and_segment_the_same(parts):
    doc = _doc(parts)
    doc = Document(
        doc.name,
        doc.kind,
        doc.text,
        tuple(Turn(t.start, t.end, t.speaker, 1.5, 2.0, {"site": "A"}) for t in doc.turns),
        doc.sha256,
        {"role": "parent"},
    )
    back = pickle.loads(pickle.dumps(doc))
    assert back == doc and back.turns == doc.turns and back.words == len(doc.text.split())
    assert dict(back.turns[0].attributes) == {"site": "A"} and dict(back.attributes) == {"role": "parent"}
    assert Segmenter().segment(back) == Segmenter().segment(doc)


def test_a_paragraph_over_a_million_characters_is_segmented(tmp_path):
    """spaCy refuses a text over a million characters (E088); a long paragraph is cut into pieces at
    white space before it is parsed, and its segments still match the document's text."""
    from clhs_mechanisms import read_document
    from clhs_mechanisms.segment import Segmenter

    path = tmp_path / "long.txt"
    path.write_text("P01: " + "this goes on and on. " * 60_000 + "\n", encoding="utf-8")  # 1.26M characters
    document = read_document(path)
    segments = Segmenter().segment(document)
    assert len(document.text) > 1_000_000 and len(segments) > 1000
    assert all(document.text[s.start : s.end] == s.text for s in segments)
    assert sum(len(s.text) for s in segments) >= 0.95 * len(document.text.strip())
