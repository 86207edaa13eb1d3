"""Transcripts as other tools write them (issue 20): speakers, times, no timing or label text in
any segment, a ceiling on segment size, bad input named by file and line.

The example files are in tests/data/transcripts (README.md there says where each comes from);
the Word examples are written by make_docx.py into a temporary folder.
"""

from __future__ import annotations

import importlib.util
import pickle
import re
import time
from pathlib import Path

import pytest

from clhs_mechanisms import Document, Segmenter, Turn
from clhs_mechanisms.corpus.captions import read_captions
from clhs_mechanisms.corpus.docx import read_docx
from clhs_mechanisms.corpus.transcript import read_transcript
from clhs_mechanisms.corpus.whisper import is_whisper_tsv, read_whisper
from clhs_mechanisms.errors import ReaderError
from clhs_mechanisms.segment import MAX_WORDS, is_interviewer

DATA = Path(__file__).parent / "data" / "transcripts"
DANA = "Dana Whitfield"
AMIRA = "Amira Haddad"
ANNOTATION = re.compile(r"\[(?:inaudible|crosstalk)[^\]]*\]")
TIMING = ["-->", "00:0", "0:00", "[0:", "[00:", "<c>", "</c>", "align:"]


def read(path: Path, **options) -> Document:
    """The reader dispatch will use for ``path`` (see the final report: .json/.tsv need dispatch)."""
    suffix = path.suffix.lower()
    if suffix in (".vtt", ".srt"):
        return read_captions(path, **options)
    if suffix == ".docx":
        return read_docx(path, **options)
    if suffix in (".json", ".tsv"):
        return read_whisper(path, **options)
    return read_transcript(path, **options)


@pytest.fixture(scope="module")
def docx_files(tmp_path_factory) -> dict[str, Path]:
    spec = importlib.util.spec_from_file_location("make_docx", DATA / "make_docx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_all(tmp_path_factory.mktemp("docx"))


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter(interviewers=[DANA, "Emma", "Speaker 1"])


def said(document: Document) -> list[tuple[str | None, str]]:
    return [(turn.speaker, document.text[turn.start : turn.end]) for turn in document.turns]


# file: speakers in order, time_start of the first turn, text that no segment may hold, format
EXPECTED: dict[str, tuple[list[str | None], float | None, list[str], str | None]] = {
    "zoom.vtt": (
        [
            DANA,
            "Paul McCartney",
            "Paul McCartney",
            "Ringo Starr",
            DANA,
            None,
            "Paul McCartney",
            DANA,
            "Paul McCartney",
        ],
        2.16,
        ["Ringo Starr:", "McCartney:", "Whitfield:", "in Hello"],
        "zoom",
    ),
    "zoom_two_cues.vtt": ([DANA, AMIRA], 1.0, ["Haddad:", "Whitfield:"], "zoom"),
    "teams.vtt": ([DANA, AMIRA, DANA, AMIRA], 3.629, ["<v", "</v>", "/14-0", "3f9c1d2e"], "teams"),
    "teams_download.txt": ([DANA, AMIRA, DANA, AMIRA], 0.0, [DANA, AMIRA, "0:0:"], "teams"),
    "otter.txt": (
        ["Emma", "Kelly", None, "Emma", "Sidney", "Kelly", "Sidney"],
        0.0,
        ["otter.ai", "Unknown Speaker", "Sidney"],
        "otter",
    ),
    "bold_names.md": (["Emma", "Kelly", "Emma", "Ali", "Kelly"], 0.0, ["**", "&#39;", "&amp;"], None),
    "descript.md": ([DANA, AMIRA, DANA, AMIRA], 0.0, ["**", "Haddad", "Whitfield"], "descript"),
    "rev.txt": (
        ["Speaker 1", "Dr. Okafor", "Speaker 1", "Dr. Okafor", "Speaker 1"],
        1.0,
        ["(00:", "(01:", "Speaker 1"],
        "rev",
    ),
    "handtyped_qa.txt": (["Q", "A", "Q", "A"], None, ["Q:", "A:", "Interview 12"], None),
    "handtyped_roles.txt": (["INTERVIEWER", "RESPONDENT"] * 2, None, ["INTERVIEWER", "RESPONDENT"], None),
    "whisper.vtt": ([None, None], 0.0, [], "whisper"),
    "whisper.srt": ([None, None], 0.0, [], None),
    "whisper_console.txt": ([None, None], 0.0, ["Detected language"], "whisper"),
    "whisper.tsv": ([None, None], 0.0, [], "whisper"),
    "whisper.json": ([None, None], 0.0, [], "whisper"),
    "youtube_autocaptions.en.vtt": ([None] * 4, 0.16, ["&gt;", ">>"], "youtube"),
    "hls_concatenated.vtt": ([None], 1.0, ["X-TIMESTAMP", "WEBVTT"], None),
    "webvtt_py_youtube_dl.vtt": ([None], 286.07, ["colorCCCCCC"], "youtube"),
    "webvtt_py_teams_timeframe.vtt": (["Yuri Bakulin", "Adrian Petrescu"], 0.0, ["<v"], "teams"),
    "webvtt_py_sample_hls.vtt": ([None], 6128.076, ["1088:"], None),
    "otter.docx": (["Emma", "Sidney", None, "Sidney"], 0.0, ["otter.ai", "Unknown", "Sidney"], "otter"),
    "teams_download.docx": (
        [DANA, AMIRA, DANA, AMIRA],
        3.0,
        [AMIRA, "started transcription", "1:02:09"],
        "teams",
    ),
    "dash_labels.docx": (["I", "C", "I", "C"], None, ["I –", "C –", "March 2023"], None),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_layout_imports_with_its_speakers_and_clean_segments(name, docx_files, segmenter) -> None:
    speakers, first_time, forbidden, fmt = EXPECTED[name]
    document = read(docx_files.get(name) or DATA / name)
    assert [turn.speaker for turn in document.turns] == speakers
    assert document.turns[0].time_start == first_time
    if fmt is not None:
        assert f"format detected: {fmt}" in document.warnings
    segments = segmenter.segment(document)
    assert segments
    for segment in segments:
        assert document.text[segment.start : segment.end] == segment.text
        assert len(segment.text.split()) <= MAX_WORDS
        spoken = ANNOTATION.sub("", segment.text)  # "[inaudible 00:12:31]" stays: it is Rev's note
        for text in forbidden + TIMING:
            assert text not in spoken, (text, segment.text)
        speaker = document.turns[segment.turn].speaker
        assert segment.codable == (speaker not in (DANA, "Emma", "I", "Q", "INTERVIEWER", "Speaker 1")), (
            speaker
        )


def test_named_interviewers_are_not_codable_only_when_named() -> None:
    assert is_interviewer("Dana Whitfield", ["dana  whitfield"]) and is_interviewer("Interviewer 2")
    assert not is_interviewer("Dana Whitfield") and not is_interviewer(None, ["Dana"])
    document = read_captions(DATA / "zoom.vtt")
    default = Segmenter().segment(document)
    assert all(segment.codable for segment in default)  # real names: nobody is the interviewer by default
    named = Segmenter(interviewers=[DANA])
    again = pickle.loads(pickle.dumps(named))
    assert [s.codable for s in again.segment(document)] == [s.speaker != DANA for s in default]


def test_an_unlabelled_zoom_cue_is_an_unknown_speakers_turn_and_stays_codable(segmenter) -> None:
    document = read_captions(DATA / "zoom.vtt")
    answer = next(turn for turn in document.turns if turn.speaker is None)
    assert document.text[answer.start : answer.end] == "Yes. Okay."
    assert (answer.time_start, answer.time_end) == (444.7, 445.61)
    assert any("line 24" in warning for warning in document.warnings)
    assert [s.codable for s in segmenter.segment(document) if s.text == "Yes. Okay."] == [True]
    # cues seven minutes apart are two turns, not "...let people in Hello everyone."
    assert said(document)[1:3] == [
        ("Paul McCartney", "Yes, loud and clear. Give me one second to let people in"),
        ("Paul McCartney", "Hello everyone. Sorry, the waiting room was full."),
    ]


def test_whisper_outputs_give_the_same_turns_and_segments(segmenter) -> None:
    names = ["whisper.vtt", "whisper.srt", "whisper_console.txt", "whisper.tsv", "whisper.json"]
    documents = [read(DATA / name) for name in names]
    first = documents[0]
    assert [len(segment.text.split()) for segment in segmenter.segment(first)] == [80, 13, 40]
    for document in documents[1:]:
        assert document.text == first.text
        assert [(t.time_start, t.time_end) for t in document.turns] == [(0.0, 30.02), (34.5, 47.85)]
        assert segmenter.segment(document) == [
            s._replace(document=document.name) for s in segmenter.segment(first)
        ]


def test_plain_whisper_text_is_cut_at_its_line_ends(segmenter) -> None:
    document = read_transcript(DATA / "whisper_plain.txt", format="whisper")
    assert len(document.turns) == 1
    for segment in segmenter.segment(document):
        assert segment.end == len(document.text.rstrip()) or document.text[segment.end] == "\n"
        assert len(segment.text.split()) <= MAX_WORDS


def test_youtube_rolling_captions_store_each_spoken_word_once() -> None:
    document = read_captions(DATA / "youtube_autocaptions.en.vtt")
    file_words = sum(
        len(line.split())
        for line in (DATA / "youtube_autocaptions.en.vtt").read_text(encoding="utf-8").splitlines()[4:]
        if "-->" not in line
    )
    assert file_words > 2.9 * 253
    assert document.words == 253  # the words spoken, each once
    assert document.text.count("so today we are talking") == 1
    assert said(document)[2] == (
        None,
        "that is really helpful what would you tell a site that is just joining",
    )
    tiny = read_captions(DATA / "webvtt_py_youtube_dl.vtt")
    assert said(tiny) == [(None, "yeah what this will happen is I'm telling")]


def test_format_can_be_forced_and_is_checked(tmp_path) -> None:
    path = tmp_path / "call.vtt"
    path.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nEmma: Hi.\n\n00:00:02.500 --> 00:00:04.000\nOk.\n"
    )
    assert said(read_captions(path)) == [(None, "Emma: Hi. Ok.")]  # a name used once is no label here
    assert said(read_captions(path, format="zoom")) == [("Emma", "Hi."), (None, "Ok.")]
    with pytest.raises(ReaderError, match="unknown format 'zoomm'"):
        read_captions(path, format="zoomm")
    assert any("does not apply" in w for w in read_captions(path, format="otter").warnings)


def test_descript_markers_and_markdown_entities_leave_the_text(segmenter) -> None:
    descript = read_transcript(DATA / "descript.md")
    assert "We had two new nurses today" in descript.text and "[00:00:09]" not in descript.text
    assert [t.time_start for t in descript.turns] == [0.0, 5.0, 14.0, 18.0]
    bold = read_transcript(DATA / "bold_names.md")
    assert "Today we're talking" in bold.text and "theme kept breaking & nobody" in bold.text
    assert [t.time_start for t in bold.turns] == [0.0, 18.0, 20.0, 22.0, 36.0]


def test_annotations_stay_inside_their_segment() -> None:
    text = (
        "Last period was a study hall so. [laughs] I'm not that dead. It was fine. "
        "We joined late. [crosstalk] Sorry. Go on. They said no [inaudible 00:12:31] and we left. (laughs)"
    )
    document = Document("a.txt", "interview", "P01: " + text, (Turn(5, 5 + len(text), "P01"),), "0" * 64)
    segments = Segmenter(max_sentences=2).segment(document)
    assert not any(s.text.startswith(("laughs", "crosstalk", "inaudible", "]", ")")) for s in segments)
    assert not any(s.text.endswith(("[", "(")) for s in segments)
    assert segments[-1].text.endswith("and we left. (laughs)")
    words = "word " * 200
    long = f"P01: {words}[inaudible 00:12:31 long stretch here] {words}".strip()
    document = Document("b.txt", "interview", long, (Turn(5, len(long), "P01"),), "0" * 64)
    pieces = Segmenter().segment(document)
    assert any("[inaudible 00:12:31 long stretch here]" in s.text for s in pieces)


def test_no_segment_exceeds_the_ceiling_without_punctuation() -> None:
    """A 90-minute lower-case podcast is one 14,000-word sentence to the sentencizer; text
    without spaces (Chinese) is one "word": both are cut to the ceiling."""
    podcast = " ".join(f"and then we talked about the clinic number {n} for a while" for n in range(1400))
    chinese = "我们的诊所加入了这个网络因为家长们希望有一个地方可以交流经验" * 300
    text = f"{podcast}\n\n{chinese}"
    document = Document("p.txt", "interview", text, (Turn(0, len(text)),), "0" * 64)
    segments = Segmenter().segment(document)
    assert max(len(s.text.split()) for s in segments) <= MAX_WORDS
    assert max(len(s.text) for s in segments) <= MAX_WORDS * 12
    assert "".join(s.text for s in segments).replace(" ", "") == text.replace(" ", "").replace("\n", "")
    assert Segmenter(max_words=20).segment(document)[0].text.count(" ") == 19


def test_a_ten_hour_caption_file_imports_quickly(tmp_path) -> None:
    lines = ["WEBVTT", ""]
    for n in range(12_000):  # a cue every three seconds for ten hours
        start = n * 3
        stamp = f"{start // 3600:02d}:{start // 60 % 60:02d}:{start % 60:02d}"
        lines += [
            f"{stamp}.000 --> {stamp}.900",
            f"Speaker {n % 2 + 1}: and so the clinic kept going {n}",
            "",
        ]
    path = tmp_path / "ten_hours.vtt"
    path.write_text("\n".join(lines), encoding="utf-8")
    began = time.perf_counter()
    document = read_captions(path)
    segments = Segmenter().segment(document)
    assert time.perf_counter() - began < 20
    assert len(document.turns) == 12_000 and document.turns[-1].time_start == 35_997.0
    assert len(segments) == 12_000


@pytest.mark.parametrize(
    "name, content, fragment, line",
    [
        ("no_header.vtt", "00:00:01.000 --> 00:00:02.000\nhi\n", "WEBVTT", 1),
        ("backwards.vtt", "WEBVTT\n\n1\n00:00:05.000 --> 00:00:04.000\nhi\n", "before it starts", 4),
        (
            "backwards.srt",
            "1\n00:00:01,000 --> 00:00:02,000\na\n\n2\n00:00:09,000 --> 00:00:08,000\nb\n",
            "before",
            6,
        ),
        ("bad.json", '{"segments": [\n{"start": 1, "end": 2, "text": "a"},\n]}', "not valid JSON", 3),
        ("bad.tsv", "start\tend\ttext\n0\t1000\tok\nx\t2000\tno\n", "milliseconds", 3),
        (
            "whisper.txt",
            "[00:01.000 --> 00:02.000]  a\n[00:05.000 --> 00:04.000]  b\n",
            "before it starts",
            2,
        ),
        (
            "teams.txt",
            "0:0:1.0 --> 0:0:2.0\nEmma\nhi\n\n0:0:3.0 --> 0:0:4.0\nEmma\nyes\n\n"
            "0:0:9.0 --> 0:0:8.0\nEmma\nno\n",
            "before it starts",
            9,
        ),
    ],
)
def test_bad_input_is_a_reader_error_with_file_and_line(tmp_path, name, content, fragment, line) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReaderError) as error:
        read(path)
    assert f"{path}:{line}:" in str(error.value) and fragment in str(error.value)


def test_other_bad_input_is_read_or_refused(tmp_path) -> None:
    only_times = tmp_path / "times.txt"
    only_times.write_text("0:00\n\n0:15\n\n[00:00:30]\n", encoding="utf-8")
    with pytest.raises(ReaderError, match="only timestamps"):
        read_transcript(only_times)
    not_whisper = tmp_path / "lit.tsv"
    not_whisper.write_text("id\ttext\nL1\tSome excerpt\n", encoding="utf-8")
    assert not is_whisper_tsv(not_whisper.read_bytes()) and is_whisper_tsv(
        (DATA / "whisper.tsv").read_bytes()
    )
    with pytest.raises(ReaderError, match="not a Whisper TSV"):
        read_whisper(not_whisper)
    concatenated = read_captions(DATA / "hls_concatenated.vtt")
    assert concatenated.text.count("Could you start with your role?") == 1
    assert said(read_captions(DATA / "webvtt_py_teams_timeframe.vtt"))[1] == (
        "Adrian Petrescu",
        "Why hello there, Yuri.",
    )
