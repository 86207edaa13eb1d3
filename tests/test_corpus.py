"""The corpus readers, through the public API of ``clhs_mechanisms.corpus``."""

from __future__ import annotations

import hashlib
import unicodedata
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clhs_mechanisms.corpus import (
    SUPPORTED_EXTENSIONS,
    AttributeTable,
    Document,
    apply_attributes,
    decode_bytes,
    iter_documents,
    read_captions,
    read_document,
    read_docx,
    read_table,
    read_transcript,
)
from clhs_mechanisms.errors import ReaderError

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def said(document: Document) -> list[tuple[str | None, str]]:
    return [(turn.speaker, document.text[turn.start : turn.end]) for turn in document.turns]


def assert_error(error: pytest.ExceptionInfo[ReaderError], path: Path, *fragments: str) -> None:
    message = str(error.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


# --- decoding -----------------------------------------------------------------------------------


def test_decode_utf8_with_bom_drops_the_bom() -> None:
    text, warnings = decode_bytes("\ufeffP01: café".encode("utf-8"), "x.txt")
    assert text == "P01: café"
    assert warnings == []


@pytest.mark.parametrize("codec, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_decode_utf16_with_bom(codec: str, bom: bytes) -> None:
    text, warnings = decode_bytes(bom + "Interviewer: 你好 😀\r\nP01: ok".encode(codec), "x.txt")
    assert text == "Interviewer: 你好 😀\nP01: ok"
    assert warnings == []


def test_decode_falls_back_to_cp1252_with_a_warning() -> None:
    text, warnings = decode_bytes(b"P01: caf\xe9 \x93quoted\x94", "x.txt")
    assert text == "P01: café “quoted”"
    assert warnings == ["decoded as cp1252 (not valid UTF-8)"]


def test_decode_normalises_line_ends_and_unicode() -> None:
    text, _ = decode_bytes("a\r\nb\rc\ncafe\u0301".encode("utf-8"), "x.txt")
    assert text == "a\nb\nc\ncafé"
    assert unicodedata.is_normalized("NFC", text)


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "empty file"),
        (b"  \r\n\t\n ", "empty file"),
        (PNG, "binary file, not text (looks like a PNG image)"),
        (b"%PDF-1.7\n%\xe2\xe3", "looks like a PDF"),
        (b"P01: a\x00b", "binary file"),
        (b"P01: \x81\x8d\x8f\x90\x9d", "cannot decode"),
    ],
    ids=["empty", "whitespace", "png", "pdf", "nul", "undecodable"],
)
def test_unreadable_text_files_are_reader_errors_naming_the_file(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = write(tmp_path / "interview.txt", content)
    with pytest.raises(ReaderError) as error:
        read_document(path)
    assert_error(error, path, fragment)


# --- plain-text transcripts ---------------------------------------------------------------------

TRANSCRIPT = """\
Interview with a parent, site B (March 2024)
Recorded: by phone
[00:00:05] Interviewer: How did you first hear about the network?
P03 [00:01:10]: Well, a nurse told me.

She said: there is a group of parents.
Note: we met twice.
Parent (Maria): I was there too.
  I remember the coffee.
Dr. Okafor (00:02:00): That was the first meeting.
I:
Dr. Okafor: And the second one?
12:31 Q: Anything else?
"""


def test_transcript_labels_timestamps_and_continuations(tmp_path: Path) -> None:
    document = read_transcript(write(tmp_path / "p03.txt", TRANSCRIPT))
    assert said(document) == [
        ("Interviewer", "How did you first hear about the network?"),
        ("P03", "Well, a nurse told me.\n\nShe said: there is a group of parents.\nNote: we met twice."),
        ("Parent (Maria)", "I was there too.\n  I remember the coffee."),
        ("Dr. Okafor", "That was the first meeting."),
        ("Dr. Okafor", "And the second one?"),
        ("Q", "Anything else?"),
    ]
    times = [(turn.time_start, turn.time_end) for turn in document.turns]
    assert times == [(5.0, 70.0), (70.0, None), (None, 120.0), (120.0, None), (None, 751.0), (751.0, None)]
    assert document.kind == "interview"
    assert document.warnings == ()


def test_transcript_content_may_start_on_the_next_line(tmp_path: Path) -> None:
    document = read_transcript(write(tmp_path / "t.txt", "Interviewer:\n   Tell me more.\nP01: Sure.\n"))
    assert said(document) == [("Interviewer", "Tell me more."), ("P01", "Sure.")]


def test_one_off_phrases_with_colons_are_not_labels(tmp_path: Path) -> None:
    text = "P01: We had three reasons:\nWhat we found: nothing.\nThe point was this: care.\n"
    document = read_transcript(write(tmp_path / "t.txt", text))
    assert said(document) == [
        ("P01", "We had three reasons:\nWhat we found: nothing.\nThe point was this: care.")
    ]


def test_front_matter_becomes_attributes_and_leaves_the_text(tmp_path: Path) -> None:
    text = "---\nparticipant: P03\nsite: '007'\nconsent: yes\nnotes:\n---\n\nP03: Hello.\n"
    document = read_transcript(write(tmp_path / "t.txt", text))
    assert dict(document.attributes) == {"participant": "P03", "site": "007", "consent": "yes"}
    assert document.text == "P03: Hello.\n"
    assert said(document) == [("P03", "Hello.")]


@pytest.mark.parametrize(
    "text, line",
    [
        ("---\nsite: [unclosed\n---\nP01: hi\n", 3),
        ("---\nsite: a\nP01: hi\n", 1),
        ("---\n- a\n- b\n---\nP01: hi\n", 2),
    ],
    ids=["bad-yaml", "unclosed", "not-a-mapping"],
)
def test_malformed_front_matter_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path / "t.txt", text)
    with pytest.raises(ReaderError) as error:
        read_transcript(path)
    assert_error(error, path, f"{path}:{line}:", "front matter")


def test_without_labels_each_paragraph_is_a_turn(tmp_path: Path) -> None:
    text = "First paragraph,\nstill first.\n\n\n  Second paragraph.  \n"
    document = read_transcript(write(tmp_path / "notes.txt", text))
    assert said(document) == [(None, "First paragraph,\nstill first."), (None, "Second paragraph.")]
    assert any("no speaker labels" in warning for warning in document.warnings)


def test_markdown_bold_labels_bullets_and_headings(tmp_path: Path) -> None:
    text = (
        "# Interview 4\n\n"
        "**Interviewer:** What keeps you involved?\n"
        "- **P04:** The other parents.\n"
        "  And the data.\n"
        "## Part two\n"
        "**P04**: Mostly the parents.\n"
        "**P04 [00:10:00]:** Later answer.\n"
    )
    document = read_transcript(write(tmp_path / "p04.md", text))
    assert said(document) == [
        ("Interviewer", "What keeps you involved?"),
        ("P04", "The other parents.\n  And the data."),
        ("P04", "Mostly the parents."),
        ("P04", "Later answer."),
    ]
    assert document.turns[-1].time_start == 600.0


LABELS = ["Interviewer", "P01", "I", "Speaker 2", "Parent (Maria)"]
PIECES = st.sampled_from(
    list("ab Z\t\r\n.,'?-")
    + ["\r\n", "e\u0301", "\u0308", "😀", "👩\u200d⚕️", "你好", "ｶ", "\ufb01", "\u212b", "\u1100\u1161"]
)
ANY_CHARACTER = st.characters(
    exclude_categories=("Cs", "Cc"), exclude_characters=":"
)  # ":" could make a label
NASTY = st.lists(st.one_of(PIECES, ANY_CHARACTER), min_size=1, max_size=40).map("".join)


def expected_content(raw: str) -> str:
    return unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(turns=st.lists(st.tuples(st.sampled_from(LABELS), st.booleans(), NASTY), min_size=1, max_size=6))
def test_offsets_slice_exactly_what_was_said(tmp_path: Path, turns: list[tuple[str, bool, str]]) -> None:
    lines = [
        f"[00:{index:02d}:00] {label}: {content}" if stamped else f"{label}: {content}"
        for index, (label, stamped, content) in enumerate(turns)
    ]
    document = read_transcript(write(tmp_path / "nasty.txt", "Title line\r\n" + "\r\n".join(lines)))
    kept = [
        (index, label, stamped, expected_content(content))
        for index, (label, stamped, content) in enumerate(turns)
        if expected_content(content)
    ]
    assert said(document) == [(label, content) for _, label, _, content in kept]  # blank turns are skipped
    assert [turn.time_start for turn in document.turns] == [
        index * 60.0 if stamped else None for index, _, stamped, _ in kept
    ]


# --- captions -----------------------------------------------------------------------------------

VTT = """\
WEBVTT - team call
Kind: captions

NOTE exported
by the meeting tool

1
00:00:01.000 --> 00:00:04.000 align:start
<v Dr. Okafor>Welcome &amp; thanks
for <i>joining</i>.

00:00:04.500 --> 00:00:06.000
<v Dr. Okafor>Shall we start?</v>

00:00:07.000 --> 00:01:09.250
<v.loud Maria>Yes, <c.yellow>please</c> <00:00:08.000>go on.

00:01:10.000 --> 00:01:12.000
and one more thing
"""


def test_vtt_voice_tags_merge_consecutive_cues(tmp_path: Path) -> None:
    document = read_captions(write(tmp_path / "call.vtt", VTT))
    assert (
        document.text == "Dr. Okafor: Welcome & thanks for joining. Shall we start?\n"
        "Maria: Yes, please go on. and one more thing"
    )
    assert said(document) == [
        ("Dr. Okafor", "Welcome & thanks for joining. Shall we start?"),
        ("Maria", "Yes, please go on. and one more thing"),
    ]
    assert [(turn.time_start, turn.time_end) for turn in document.turns] == [(1.0, 6.0), (7.0, 72.0)]


def test_srt_with_name_prefixes(tmp_path: Path) -> None:
    srt = (
        "1\r\n00:00:01,000 --> 00:00:02,500\r\nInterviewer: How did you join?\r\n\r\n"
        "2\r\n00:00:03,000 --> 00:00:05,000\r\nP03: Through a <b>friend</b>.\r\n\r\n"
        "3\r\n00:00:05,000 --> 00:00:07,000\r\nP03: She told me\r\nabout it.\r\n"
    )
    document = read_document(write(tmp_path / "call.srt", srt))
    assert said(document) == [
        ("Interviewer", "How did you join?"),
        ("P03", "Through a friend. She told me about it."),
    ]
    assert [(turn.time_start, turn.time_end) for turn in document.turns] == [(1.0, 2.5), (3.0, 7.0)]


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("WEBVTT\n\n00:00:01.000 --> 00:00:0x.000\nhi\n", 3, "00:00:0x.000"),
        ("WEBVTT\n\n00:00:05.000 --> 00:00:04.000\nhi\n", 3, "before it starts"),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\na\n\n00:00:05.000 00:00:06.000\nb\n", 6, "-->"),
        (
            "WEBVTT\n\n00:00:05.000 --> 00:00:06.000\na\n\n00:00:01.000 --> 00:00:02.000\nb\n",
            6,
            "before the previous cue",
        ),
        ("00:00:01.000 --> 00:00:02.000\nhi\n", 1, "WEBVTT"),
    ],
    ids=["bad-timestamp", "end-before-start", "missing-arrow", "out-of-order", "no-header"],
)
def test_broken_vtt_names_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path / "call.vtt", text)
    with pytest.raises(ReaderError) as error:
        read_document(path)
    assert_error(error, path, f"{path}:{line}:", fragment)


# --- Word ---------------------------------------------------------------------------------------


def make_docx(path: Path) -> Path:
    word = docx.Document()
    word.core_properties.title = "Ignored title property"
    word.add_paragraph("Interview 7: researcher, IBD network")
    intro = word.add_paragraph()
    intro.add_run("Interviewer:").bold = True
    intro.add_run(" What does the registry give you?")
    answer = word.add_paragraph()
    answer.add_run("P07").bold = True
    answer.add_run(": Data I could never collect alone.")
    word.add_paragraph("And it is the same fields everywhere.")
    word.add_paragraph("Dr. Okafor: A plain-text label.")
    no_colon = word.add_paragraph()
    no_colon.add_run("Interviewer").bold = True
    no_colon.add_run(" Bold label without a colon?")
    word.add_paragraph("Dr. Okafor: Yes.")
    word.add_table(rows=1, cols=2).cell(0, 0).text = "ignored"
    word.save(str(path))
    return path


def test_docx_bold_and_plain_labels(tmp_path: Path) -> None:
    document = read_docx(make_docx(tmp_path / "int07.docx"))
    assert document.text.startswith("Interview 7: researcher, IBD network\nInterviewer: What does")
    assert said(document) == [
        ("Interviewer", "What does the registry give you?"),
        ("P07", "Data I could never collect alone.\nAnd it is the same fields everywhere."),
        ("Dr. Okafor", "A plain-text label."),
        ("Interviewer", "Bold label without a colon?"),
        ("Dr. Okafor", "Yes."),
    ]
    assert any("table" in warning for warning in document.warnings)
    assert "Ignored title property" not in document.text


@pytest.mark.parametrize("member", ["notes.txt", "xl/workbook.xml"], ids=["any-zip", "renamed-xlsx"])
def test_docx_that_is_another_zip_is_not_a_word_document(tmp_path: Path, member: str) -> None:
    path = tmp_path / "fake.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, "hello")
    with pytest.raises(ReaderError) as error:
        read_document(path)
    assert_error(error, path, "not a Word document")


# --- tables -------------------------------------------------------------------------------------


def test_csv_with_custom_text_column_and_sniffed_semicolons(tmp_path: Path) -> None:
    csv_text = (
        "Excerpt_ID;Quote;Authors;Year;Section\r\n"
        'E1;"  The commons lowers the cost.\r\nSecond line. ";Okafor A, Lindqvist M;2023;results\r\n'
        "E2;;Nobody X;2020;\r\n"
        "E3;Many hands.;Seid M, Hartley DM, Margolis PA;2021;\r\n"
        "E4;No authors here.;;;discussion\r\n"
    )
    document = read_table(write(tmp_path / "lit.csv", csv_text), text_column="quote")
    assert document.kind == "literature"
    assert said(document) == [
        ("Okafor & Lindqvist (2023)", "The commons lowers the cost.\nSecond line."),
        ("Seid et al. (2021)", "Many hands."),
        ("E4", "No authors here."),
    ]
    assert document.text == "The commons lowers the cost.\nSecond line.\n\nMany hands.\n\nNo authors here."
    assert dict(document.turns[0].attributes) == {
        "Excerpt_ID": "E1",
        "Authors": "Okafor A, Lindqvist M",
        "Year": "2023",
        "Section": "results",
        "id": "E1",
    }
    assert dict(document.turns[2].attributes) == {"Excerpt_ID": "E4", "Section": "discussion", "id": "E4"}
    assert any("row 4" in warning and "skipped" in warning for warning in document.warnings)


def test_xlsx_with_custom_text_column(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.append(["id", "Passage", "authors", "year"])
    first.append(["L1", "Registries feed care and research.", "Britto MT, et al.", 2018])
    first.append([None, "Row without id.", None, None])
    other = workbook.create_sheet("other")
    other.append(["TEXT"])
    other.append(["From the second sheet."])
    path = tmp_path / "lit.xlsx"
    workbook.save(path)
    document = read_document(path, text_column="Passage")
    assert said(document) == [
        ("Britto et al. (2018)", "Registries feed care and research."),
        ("3", "Row without id."),
    ]
    assert dict(document.turns[0].attributes) == {"authors": "Britto MT, et al.", "year": "2018", "id": "L1"}
    assert said(read_table(path, sheet="other")) == [("2", "From the second sheet.")]


def test_xlsx_formulas_without_results_and_merged_cells_are_reported(tmp_path: Path) -> None:
    """Nothing silently dropped (issue 18, item 6): a formula never calculated is named with its cell;
    a merged cell's value fills the cells of the merge, with a warning."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["authors", "year", "text"])
    sheet.append(["Okafor, A.", 2023, "First excerpt."])
    sheet.append([None, 2023, "Second excerpt."])
    sheet.append(["Lee, B.", 2021, '=CONCAT("Third", " excerpt.")'])
    sheet.merge_cells("A2:A3")
    path = tmp_path / "lit.xlsx"
    workbook.save(path)  # openpyxl stores no formula results, as any program but Excel
    document = read_document(path)
    assert said(document) == [("Okafor (2023)", "First excerpt."), ("Okafor (2023)", "Second excerpt.")]
    assert document.warnings == (
        "row 2: cells A2:A3 are merged; their value is used in each of them",
        'row 4: cell C4 holds a formula (=CONCAT("Third", " excerpt.")) without a saved result, read as '
        "empty; open and save the file in Excel to store its results",
        "row 4: no text in column 'text', skipped",
    )


def test_table_without_the_text_column_lists_the_columns_found(tmp_path: Path) -> None:
    path = write(tmp_path / "lit.csv", "id,excerpt,year\nL1,Some text,2020\n")
    with pytest.raises(ReaderError) as error:
        read_document(path)
    assert_error(error, path, "'text'", "id, excerpt, year")


def test_table_without_any_text_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "lit.csv", "id,text\nL1,\nL2,  \n")
    with pytest.raises(ReaderError) as error:
        read_document(path)
    assert_error(error, path, "no rows with text")


# --- read_document ------------------------------------------------------------------------------


def test_read_document_sets_name_hash_source_and_kind(tmp_path: Path) -> None:
    raw = "\ufeffP01: hello\r\n".encode("utf-8")
    path = write(tmp_path / "sub" / "p01.txt", raw)
    document = read_document(str(path))
    assert (document.name, document.source_path, document.kind) == ("p01.txt", str(path), "interview")
    assert document.sha256 == hashlib.sha256(raw).hexdigest()
    assert read_document(path, kind="literature").kind == "literature"


@pytest.mark.parametrize(
    "name, fragments",
    [
        ("missing.txt", ["no such file"]),
        ("slides.pdf", ["unsupported file type '.pdf'", ".docx", ".vtt"]),
        ("folder", ["directory"]),
    ],
)
def test_read_document_rejects_missing_unknown_and_folders(
    tmp_path: Path, name: str, fragments: list[str]
) -> None:
    path = tmp_path / name
    if name == "slides.pdf":
        write(path, b"%PDF-1.7")
    elif name == "folder":
        path.mkdir()
    with pytest.raises(ReaderError) as error:
        read_document(path)
    assert_error(error, path, *fragments)
    assert set(SUPPORTED_EXTENSIONS) == {
        ".txt",
        ".md",
        ".markdown",
        ".vtt",
        ".srt",
        ".docx",
        ".csv",
        ".tsv",
        ".xlsx",
        ".json",
    }


# --- attributes and folders ---------------------------------------------------------------------


def test_sidecar_attributes_fill_in_and_front_matter_wins(tmp_path: Path) -> None:
    table_path = write(tmp_path / "meta.csv", "File,Participant,Site,Role\np01.txt,P01,A,parent\n,P02,B,\n")
    table = AttributeTable.from_csv(table_path)
    by_file = apply_attributes(
        read_document(write(tmp_path / "p01.txt", "---\nsite: Z\n---\nP01: hi\n")), table
    )
    assert dict(by_file.attributes) == {"Participant": "P01", "Site": "A", "Role": "parent", "site": "Z"}
    by_participant = apply_attributes(
        read_document(write(tmp_path / "x.txt", "---\nparticipant: P02\nSite: C\n---\nP02: hi\n")), table
    )
    assert dict(by_participant.attributes) == {"Participant": "P02", "participant": "P02", "Site": "C"}
    assert any("Site" in warning for warning in by_participant.warnings)


def test_sidecar_needs_a_file_or_participant_column(tmp_path: Path) -> None:
    path = write(tmp_path / "meta.csv", "name,site\np01.txt,A\n")
    with pytest.raises(ReaderError) as error:
        AttributeTable.from_csv(path)
    assert_error(error, path, "'file' or 'participant'", "name, site")


def test_iter_documents_walks_folders_lazily_with_their_sidecar(tmp_path: Path) -> None:
    write(tmp_path / "corpus" / "attributes.csv", "file,site\nb.txt,B\n")
    write(tmp_path / "corpus" / "b.txt", "P01: second\n")
    write(tmp_path / "corpus" / "a" / "a.md", "P02: first\n")
    write(tmp_path / "corpus" / ".hidden.txt", "P09: hidden\n")
    write(tmp_path / "corpus" / "notes.pdf", b"%PDF-1.7")
    write(tmp_path / "corpus" / "z.txt", PNG)
    documents = iter_documents([tmp_path / "corpus"])
    first, second = next(documents), next(documents)
    assert (first.name, dict(first.attributes)) == ("a/a.md", {})
    assert (second.name, dict(second.attributes)) == ("b.txt", {"site": "B"})
    with pytest.raises(ReaderError) as error:
        next(documents)
    assert_error(error, tmp_path / "corpus" / "z.txt", "PNG")


def test_iter_documents_explicit_attributes_replace_the_folder_sidecar(tmp_path: Path) -> None:
    write(tmp_path / "corpus" / "attributes.csv", "file,site\nb.txt,B\n")
    write(tmp_path / "corpus" / "b.txt", "P01: hello\n")
    explicit = write(tmp_path / "other.csv", "file,site\nb.txt,X\n")
    [document] = list(iter_documents(tmp_path / "corpus", attributes=explicit))
    assert dict(document.attributes) == {"site": "X"}


def test_a_long_line_without_a_colon_is_text_not_a_label(tmp_path: Path) -> None:
    """A line of "x", 40,000 spaces and "y" (which once took minutes to match against the label
    pattern) stays in the participant's turn; labels around it are still found, and a label
    longer than a label can be is not one."""
    from clhs_mechanisms.corpus.labels import match_label

    long_line = "x" + " " * 40_000 + "y"
    path = tmp_path / "t.txt"
    path.write_text(
        f"Interviewer: Go on?\nP01: {long_line}\nInterviewer: And then?\nP01: Done.\n", encoding="utf-8"
    )
    document = read_document(path)
    assert [t.speaker for t in document.turns] == ["Interviewer", "P01", "Interviewer", "P01"]
    assert document.text[document.turns[1].start : document.turns[1].end] == long_line
    assert match_label(long_line) is None and match_label(" " * 40_000 + "P01: hi") is None
    assert match_label("  - **Interviewer [00:00:04]:** so").name == "Interviewer"
    assert match_label("A" * 81 + ": text") is None


def test_mixed_encodings_are_decoded_line_by_line_and_said() -> None:
    """A UTF-8 file with one cp1252 line keeps its UTF-8 dashes (no "â€”") and names the line."""
    data = (
        "P01: I said — yes.\n".encode() + "P02: caf\xe9 \u2013 ok\n".encode("cp1252") + "P01: über\n".encode()
    )
    text, warnings = decode_bytes(data, "mixed.txt")
    assert text == "P01: I said — yes.\nP02: café – ok\nP01: über\n"
    assert warnings == ["mixed encodings: line 2 decoded as cp1252, the rest as UTF-8"]
    with pytest.raises(ReaderError, match="cannot decode line 2"):
        decode_bytes("é\n".encode() + b"\x81\x81\n", "bad.txt")


def test_word_and_excel_bombs_are_refused_before_parsing(tmp_path: Path, monkeypatch) -> None:
    """A small .docx or .xlsx whose XML unpacks past the limit is refused with a message, never parsed;
    so is a file larger than any transcript."""
    from clhs_mechanisms.corpus import text as text_module

    monkeypatch.setattr(text_module, "MAX_INFLATED_BYTES", 1 << 20)
    word = tmp_path / "bomb.docx"
    doc = docx.Document()
    doc.add_paragraph("P01: hello")
    doc.save(word)
    with zipfile.ZipFile(word, "a") as package:  # 4 MiB of one repeated paragraph: a few KiB packed
        package.writestr(
            "word/padding.xml",
            "<w:p><w:r><w:t>x</w:t></w:r></w:p>" * 120_000,
            compress_type=zipfile.ZIP_DEFLATED,
        )
    assert word.stat().st_size < 100_000
    with pytest.raises(ReaderError, match="too large: unpacks to more than 1 MiB"):
        read_document(word)
    book = tmp_path / "bomb.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["text"])
    for _ in range(100):  # Excel keeps at most 32,767 characters a cell
        workbook.active.append(["x " * 15_000])
    workbook.save(book)
    with pytest.raises(ReaderError, match="too large"):
        read_document(book)
    monkeypatch.setattr(text_module, "MAX_FILE_BYTES", 1000)
    big = tmp_path / "big.txt"
    big.write_text("P01: " + "word " * 1000, encoding="utf-8")
    with pytest.raises(ReaderError, match="file too large"):
        read_document(big)


def test_each_file_is_read_once_however_it_is_reached(tmp_path: Path) -> None:
    """The same file named twice, and a folder holding a link to itself, give each document once."""
    from clhs_mechanisms.corpus import iter_files

    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("P01: hello\n", encoding="utf-8")
    (folder / "b.txt").write_text("P02: hi\n", encoding="utf-8")
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    names = [f.name for f in iter_files([folder / "a.txt", folder / "a.txt", folder])]
    assert names == ["a.txt", "b.txt"]


def test_a_document_is_named_by_its_path_inside_the_imported_folder(tmp_path: Path) -> None:
    """Two p01.txt in two folders are two documents (issue 18, item 7); named on their own they
    would collide, which is refused before anything is read; a sidecar matches paths or names."""
    from clhs_mechanisms.corpus import iter_documents

    root = tmp_path / "study"
    write(root / "site_a" / "p01.txt", "P01: from site A\n")
    write(root / "site_b" / "p01.txt", "P01: from site B\n")
    write(root / "attributes.csv", "file,site\nsite_a/p01.txt,A\nsite_b/p01.txt,B\n")
    documents = list(iter_documents(root))
    named = [(d.name, d.attributes.get("site")) for d in documents]
    assert named == [("site_a/p01.txt", "A"), ("site_b/p01.txt", "B")]
    assert "site A" in documents[0].text and "site B" in documents[1].text
    with pytest.raises(ReaderError, match="two files would both be the document 'p01.txt'"):
        list(iter_documents([root / "site_a" / "p01.txt", root / "site_b" / "p01.txt"]))
    write(root / "site_a" / "attributes.csv", "file,role\np01.txt,parent\n")
    assert [d.attributes.get("role") for d in iter_documents(root)] == ["parent", None]


def test_a_message_quoting_control_characters_stays_one_line(tmp_path: Path) -> None:
    """Column names with a vertical tab, front matter with a control character: each message is one
    line, the characters shown escaped (found by tests/test_fuzz.py)."""
    table = write(tmp_path / "lit.csv", b"\x01\x0b\x01\nx\n")
    with pytest.raises(ReaderError) as error:
        read_document(table)
    assert "\n" not in str(error.value) and "\x0b" not in str(error.value) and "\\x0b" in str(error.value)
    front = write(tmp_path / "p.txt", "---\nsite: \x01\n---\nP01: hi\n")
    with pytest.raises(ReaderError, match="malformed front matter") as error:
        read_document(front)
    assert "\n" not in str(error.value)
