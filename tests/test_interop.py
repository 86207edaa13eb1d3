"""Exchange: REFI-QDA .qdc/.qdpx export and import, CSV/Excel, codebook documents, matrices, training data."""

from __future__ import annotations

import json
import os
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from clhs_mechanisms import ClhsError, Project, import_paths, load_codebook
from clhs_mechanisms.cli import main
from clhs_mechanisms.interop import (
    code_by_attribute,
    code_by_document,
    codebook_html,
    codebook_markdown,
    codings_table,
    export_qdc,
    export_qdpx,
    import_qdc,
    import_qdpx,
    training_examples,
)
from clhs_mechanisms.interop.offsets import Selection, SourceText, choose_convention
from clhs_mechanisms.interop.refi_common import SCHEMAS, provenance_guid
from clhs_mechanisms.store import code_uuid

from .conftest import DATA, TRANSCRIPT

REFI = DATA / "refi"
NS = {"q": "urn:QDA-XML:project:1.0", "c": "urn:QDA-XML:codebook:1.0"}
XSD_DIR = DATA / "refi-qda"
FIXTURES = [
    "qualcoder_style.qdpx",
    "atlas_style.qdpx",
    "nvivo_style.qdpx",
    "inclusive_end.qdpx",
    "maxqda_style.qdpx",
    "shared_selection.qdpx",
]
EXPECTED = json.loads((REFI / "expected.json").read_text(encoding="utf-8"))
SECOND = """Interview with P02

Interviewer: What did you type into the form?
P02: =HYPERLINK("x") was my joke entry. The registry form wants every visit, so I keep a dashboard of my own.
"""


def validate(data: bytes, kind: str) -> etree._Element:
    """Parse ``data`` and validate it against the published REFI-QDA schema (tests/data/refi-qda)."""
    schema = etree.XMLSchema(
        etree.parse(str(XSD_DIR / ("Project.xsd" if kind == "project" else "Codebook.xsd")))
    )
    root = etree.fromstring(data)
    assert schema.validate(root.getroottree()), [f"{e.line}: {e.message}" for e in schema.error_log]
    return root


def qde(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("project.qde")


def qualcoder_read(path: Path) -> dict[str, list[tuple[str, int, int, str]]]:
    """The text codings QualCoder keeps when it imports ``path``, per coder name (sorted).

    Written from the rules of QualCoder's REFI-QDA import (src/qualcoder/refi.py,
    ``load_codings_for_text``): the coder is the PlainTextSelection's creatingUser (else its
    modifyingUser) looked up among the Users, "default" if unknown; each Coding of the
    selection is a row (code, source, startPosition, endPosition, coder) of a table with
    UNIQUE(cid, fid, pos0, pos1, owner), so a second identical row is refused.
    """
    root = etree.fromstring(qde(path))
    users = {u.get("guid"): u.get("name") for u in root.iterfind(".//q:Users/q:User", NS)}
    codes = {c.get("guid"): c.get("name") for c in root.iterfind(".//q:CodeBook//q:Code", NS)}
    seen: set[tuple] = set()
    out: dict[str, list[tuple[str, int, int, str]]] = {}
    for src in root.iterfind(".//q:Sources/q:TextSource", NS):
        for sel in src.iterfind("q:PlainTextSelection", NS):
            owner = users.get(sel.get("creatingUser") or sel.get("modifyingUser"), "default")
            pos0, pos1 = int(sel.get("startPosition")), int(sel.get("endPosition"))
            for coding in sel.iterfind("q:Coding", NS):
                code = codes.get(coding[0].get("targetGUID"))
                row = (code, src.get("name"), pos0, pos1, owner)
                if row in seen:
                    # QualCoder: sqlite3.IntegrityError,
                    # "Duplicated text coding for code and coder. Only one loaded."
                    continue
                seen.add(row)
                out.setdefault(owner, []).append((src.get("name"), pos0, pos1, code))
    return {coder: sorted(rows) for coder, rows in out.items()}


def held(project: Project) -> dict[str, list[tuple[str, int, int, str]]]:
    """The project's codings per coder, as sorted (document, start, end, code label)."""
    labels = {c.id: c.label for c in project.codebook.codes}
    out: dict[str, list[tuple[str, int, int, str]]] = {}
    for r in project.codings().itertuples():
        out.setdefault(r.coder, []).append((r.document, r.start, r.end, labels[r.code]))
    return {coder: sorted(rows) for coder, rows in out.items()}


def body(data: bytes) -> bytes:
    """project.qde without the root element's attributes (project name, dates), which may differ."""
    root = etree.fromstring(data)
    root.attrib.clear()
    return etree.tostring(root)


@pytest.fixture()
def built(tmp_path, mini_codebook):
    """A project with two interviews, codings by two people, memos on everything, decided suggestions."""
    files = tmp_path / "files"
    files.mkdir()
    (files / "p01.txt").write_text(
        "---\nparticipant: P01\nrole: parent\nsite: north\n---\n" + TRANSCRIPT, encoding="utf-8"
    )
    (files / "p02.txt").write_text("---\nparticipant: P02\nrole: clinician\n---\n" + SECOND, encoding="utf-8")
    project = Project.init(tmp_path / "proj", mini_codebook)
    list(import_paths(project, [files]))
    text = project.document_text("p01.txt")
    i = text.index("someone helped us")
    ids = {"help": project.add_coding("p01.txt", i, i + len("someone helped us"), "mot_help", coder="ana")}
    project.add_coding("p01.txt", i, i + len("someone helped us"), "mot_credit", coder="ben")
    j = text.index("We joined partly for the credit")
    project.add_coding("p01.txt", j, j + len("We joined partly for the credit"), "mot_credit", coder="ana")
    text2 = project.document_text("p02.txt")
    k = text2.index('=HYPERLINK("x")')
    ids["formula"] = project.add_coding("p02.txt", k, k + len('=HYPERLINK("x")'), "ppi_registry", coder="ben")
    project.add_memo("Project memo: start with the parents.", coder="ana")
    project.add_memo("Document memo on p01.", coder="ana", target_type="document", target_id="p01.txt")
    project.add_memo("Why helping, not credit?", coder="ben", target_type="coding", target_id=ids["help"])
    project.add_memo("Code memo: mot_help is broad.", coder="ben", target_type="code", target_id="mot_help")
    seg = project.segments(document="p01.txt", codable_only=True).iloc[-1]
    project.add_memo("Segment memo.", coder="cy", target_type="segment", target_id=seg.id)
    segs = project.segments(document="p02.txt", codable_only=True)
    waiting = project.segments(document="p01.txt").set_index("idx").loc[2, "id"]  # "It took a while ..."
    project.add_suggestions(
        [
            {"segment_id": segs.id.iloc[0], "code": "ppi_registry", "score": 0.83},
            {"segment_id": segs.id.iloc[0], "code": "mot_help", "score": 0.51},
            {"segment_id": waiting, "code": "mot_credit", "score": 0.22},
        ],
        method="ensemble",
        model_version="m1",
    )
    pending = project.suggestions().set_index("code")
    project.decide(pending.loc["ppi_registry", "id"], "accept", coder="cy")
    project.decide(pending.loc["mot_credit", "id"], "reject", coder="cy")
    yield project
    project.close()


@pytest.fixture()
def fresh(tmp_path, mini_codebook):
    made = []

    def make(name: str = "fresh") -> Project:
        made.append(Project.init(tmp_path / name, mini_codebook))
        return made[-1]

    yield make
    for p in made:
        p.close()


@pytest.fixture()
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


# -- REFI-QDA codebook ---------------------------------------------------------------


def test_qdc_export_is_valid_hierarchical_and_stable(built, tmp_path, mini_codebook_path):
    export_qdc(built, tmp_path / "a.qdc")
    export_qdc(load_codebook(mini_codebook_path), tmp_path / "b.qdc")
    a, b = (tmp_path / "a.qdc").read_bytes(), (tmp_path / "b.qdc").read_bytes()
    assert a == b, "the project's codebook and the same YAML give the same GUIDs"
    root = validate(a, "codebook")
    domains = root.findall("c:Codes/c:Code", NS)
    assert [d.get("name") for d in domains] == ["Motivations", "Infrastructure"]
    assert all(d.get("isCodable") == "false" for d in domains)
    help_ = root.find("c:Codes/c:Code/c:Code[@name='Helping others']", NS)
    assert help_.get("guid") == code_uuid("mini", "mot_help") and help_.get("color") == "#4C78A8"
    desc = help_.find("c:Description", NS).text
    assert "Definition: Taking part to benefit other people." in desc
    assert "- paying it forward" in desc and "taking part for credit [use mot_credit]" in desc
    assert "Someone helped us, so I give back." in desc and "Code id: mot_help" in desc
    h1 = root.find("c:Sets/c:Set", NS)
    assert h1.get("name").startswith("H1") and len(h1.findall("c:MemberCode", NS)) == 3


def test_qdc_import_matches_adds_and_keeps_guids(fresh, tmp_path, mini_codebook_path):
    same = fresh("same")
    export_qdc(load_codebook(mini_codebook_path), tmp_path / "mini.qdc")
    report = import_qdc(same, tmp_path / "mini.qdc")
    assert report.counts["codes matched"] == 3 and report.counts.get("codes added", 0) == 0
    assert same.codebook.version == "0.1.0", "nothing new: no new codebook version"

    other_yaml = mini_codebook_path.read_text(encoding="utf-8").replace("id: mini\n", "id: other\n", 1)
    other_yaml = other_yaml.replace("mot_credit", "mot_reward").replace("Credit and requirements", "Rewards")
    other_yaml = other_yaml.replace("- id: H1", "- id: H9")
    (tmp_path / "other.yaml").write_text(other_yaml, encoding="utf-8")
    other = load_codebook(tmp_path / "other.yaml")
    export_qdc(other, tmp_path / "other.qdc")
    report = import_qdc(same, tmp_path / "other.qdc")
    cb = same.codebook
    assert cb.version == "0.2.0" and "mot_reward" in cb and "H9" in {h.id for h in cb.hypotheses}
    reward = cb.code("mot_reward")
    assert reward.definition == other.code("mot_reward").definition
    assert reward.examples == other.code("mot_reward").examples and reward.exclude[0].code == "mot_help"
    assert report.counts["codes added"] == 1 and report.saved_to and Path(report.saved_to).is_file()
    export_qdc(same, tmp_path / "again.qdc")
    again = etree.fromstring((tmp_path / "again.qdc").read_bytes())
    code = again.find(".//c:Code[@name='Rewards']", NS)
    assert code.get("guid") == code_uuid("other", "mot_reward"), "an imported code keeps its GUID"


# -- REFI-QDA project: export ----------------------------------------------------------


def test_qdpx_export_is_valid_and_complete(built, tmp_path):
    report = export_qdpx(built, tmp_path / "p.qdpx")
    with zipfile.ZipFile(tmp_path / "p.qdpx") as zf:
        names = zf.namelist()
        assert [n for n in names if n.endswith(".qde")] == ["project.qde"]
        root = validate(zf.read("project.qde"), "project")
        docs = built.documents().set_index("name")
        for src in root.findall("q:Sources/q:TextSource", NS):
            assert src.get("guid") == docs.loc[src.get("name"), "id"]
            text = zf.read(f"sources/{src.get('guid')}.txt").decode("utf-8")
            assert text == built.document_text(src.get("name"))
            for sel in src.findall("q:PlainTextSelection", NS):
                start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
                for coding in sel.findall("q:Coding", NS):
                    row = built.codings().set_index("id").loc[coding.get("guid")]
                    assert (row.start, row.end) == (start, end) and text[start:end] == row.quote
    assert "end-exclusive" in root.find("q:Description", NS).text
    users = {u.get("name"): u.get("guid") for u in root.findall("q:Users/q:User", NS)}
    assert set(users) == {"ana", "ben", "cy"}
    codings = root.findall(".//q:Coding", NS)
    assert len(codings) == 5, "4 manual codings + 1 accepted suggestion; rejected and pending are not codings"
    accepted = built.codings().query("origin == 'suggestion'").iloc[0]
    el = root.find(f".//q:Coding[@guid='{accepted.id}']", NS)
    assert el.get("creatingUser") == users["cy"]
    assert datetime.fromisoformat(el.get("creationDateTime")) == datetime.fromisoformat(accepted.created_at)
    times = root.xpath("//@*[substring(name(), string-length(name()) - 7) = 'DateTime']")
    assert times and all(t.endswith("Z") for t in times), "times in UTC with Z, as other tools write them"
    for sel in root.iterfind(".//q:PlainTextSelection", NS):
        inner = sel.findall("q:Coding", NS)
        assert len(inner) <= 1, "one selection per coding (QualCoder takes the coder from the selection)"
        if inner:
            assert (sel.get("creatingUser"), sel.get("creationDateTime")) == (
                inner[0].get("creatingUser"),
                inner[0].get("creationDateTime"),
            )
    help_span = built.codings().set_index("code").loc["mot_help", ["start", "end"]].tolist()
    same_span = root.xpath(
        f"//q:PlainTextSelection[@startPosition='{help_span[0]}'][@endPosition='{help_span[1]}']",
        namespaces=NS,
    )
    assert len(same_span) == 2 and len({s.get("guid") for s in same_span}) == 2
    assert {s.get("creatingUser") for s in same_span} == {users["ana"], users["ben"]}
    note_ref = el.find("q:NoteRef", NS).get("targetGUID")
    assert note_ref == provenance_guid(accepted.id)
    note = root.find(f"q:Notes/q:Note[@guid='{note_ref}']", NS)
    assert "Machine suggestion accepted by cy" in note.find("q:PlainTextContent", NS).text
    memos = built.memos().set_index("id")
    for memo_id, memo in memos.iterrows():
        note = root.find(f"q:Notes/q:Note[@guid='{memo_id}']", NS)
        assert note.find("q:PlainTextContent", NS).text == memo.text
        assert datetime.fromisoformat(note.get("creationDateTime")) == datetime.fromisoformat(memo.created_at)
        assert note.get("creatingUser") == users[memo.coder]
        assert root.xpath(f"count(//q:NoteRef[@targetGUID='{memo_id}'])", namespaces=NS) == 1
    assert root.find("q:NoteRef", NS) is not None, "the project memo hangs off the project"
    assert root.find(".//q:Code[@name='Helping others']/q:NoteRef", NS) is not None
    case = root.find("q:Cases/q:Case[@name='P01']", NS)
    assert case.find("q:SourceRef", NS).get("targetGUID") == docs.loc["p01.txt", "id"]
    assert report.size("lost", "machine suggestions not decided by a person (never exported as codings)") == 1
    assert report.size("lost", "rejected machine suggestions") == 1
    patterns = [c.id for c in built.codebook.codes if c.patterns]
    assert report.size("lost", "spaCy token patterns (no REFI-QDA field; kept in the YAML codebook)") == len(
        patterns
    )
    assert (
        f"spaCy token patterns (no REFI-QDA field; kept in the YAML codebook): {len(patterns)}"
        in report.text()
    )
    assert qualcoder_read(tmp_path / "p.qdpx") == held(built)


def test_qdpx_round_trip_is_identical_and_idempotent(built, fresh, tmp_path):
    export_qdpx(built, tmp_path / "one.qdpx")
    other = fresh()
    report = import_qdpx(other, tmp_path / "one.qdpx")
    assert report.lossless and report.counts["codings"] == 5 and report.counts["memos"] == 6
    export_qdpx(other, tmp_path / "two.qdpx")
    assert body(qde(tmp_path / "one.qdpx")) == body(qde(tmp_path / "two.qdpx"))
    with zipfile.ZipFile(tmp_path / "one.qdpx") as a, zipfile.ZipFile(tmp_path / "two.qdpx") as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        assert all(a.read(n) == b.read(n) for n in a.namelist() if n.startswith("sources/"))
    mine, theirs = built.codings(), other.codings()
    cols = ["id", "document", "code", "coder", "start", "end", "quote", "created_at"]
    assert mine[cols].sort_values("id").values.tolist() == theirs[cols].sort_values("id").values.tolist()
    again = import_qdpx(other, tmp_path / "one.qdpx")
    assert again.counts.get("codings", 0) == 0 and again.counts["codings already in the project"] == 5
    assert other.status()["codings"] == 5 and other.status()["memos"] == 6


# -- REFI-QDA project: import from other tools -----------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_fixtures_from_other_tools_import_with_correct_positions(fresh, tmp_path, name):
    project = fresh()
    report = import_qdpx(project, REFI / name)
    codings = project.codings().set_index("id")
    for exp in EXPECTED[name]:
        row = codings.loc[exp["coding_guid"].lower()]
        assert (row.document, row.quote) == (exp["source"], exp["quote"])
        assert row.coder == exp.get("coder", row.coder)
        text = project.document_text(row.document)
        assert text[row.start : row.end] == exp["quote"]
    assert len(codings) == len(EXPECTED[name])
    assert report.saved_to and (project.directory / "exchange").is_dir()
    export_qdpx(project, tmp_path / "out.qdpx")
    validate(qde(tmp_path / "out.qdpx"), "project")
    second = fresh("second")
    import_qdpx(second, tmp_path / "out.qdpx")
    export_qdpx(second, tmp_path / "again.qdpx")
    assert body(qde(tmp_path / "out.qdpx")) == body(qde(tmp_path / "again.qdpx"))


def test_fixture_quirks_are_reported(fresh):
    atlas = import_qdpx(fresh("a"), REFI / "atlas_style.qdpx")
    assert "project file name" in atlas.changes and "schemaLocation" in atlas.changes
    assert any("each CRLF counted once" in n for n in atlas.notes)
    for lost in (
        "PictureSources without plain text",
        "links between objects",
        "graphs (network views)",
        "sets (groupings of codes, sources or notes)",
    ):
        assert lost in atlas.losses
    nvivo_project = fresh("n")
    nvivo = import_qdpx(nvivo_project, REFI / "nvivo_style.qdpx")
    assert any("positions as stored in the file" in n for n in nvivo.notes)
    assert "codings that point at a case instead of a code (NVivo-style case coding)" in nvivo.losses
    doc = nvivo_project.documents().iloc[0]
    assert doc.attributes["Profession"] == "Physician" and doc.case == "Dr Okafor"
    assert "\r" not in nvivo_project.document_text(doc["name"])
    inclusive = import_qdpx(fresh("i"), REFI / "inclusive_end.qdpx")
    assert any("read as inclusive" in n for n in inclusive.notes)
    forced = fresh("f")
    import_qdpx(forced, REFI / "inclusive_end.qdpx", positions="exclusive")
    assert "The registry form used to take an hou" in set(forced.codings().quote)
    qualcoder_project = fresh("q")
    qualcoder = import_qdpx(qualcoder_project, REFI / "qualcoder_style.qdpx")
    assert qualcoder.counts["codes matched"] == 2 and qualcoder.counts["codes added"] == 2
    cb = qualcoder_project.codebook
    assert cb.code("dashboard").parent == "ppi_registry"
    memos = qualcoder_project.memos()
    assert set(memos.target_type) == {"project", "coding", "document"}
    assert memos.set_index("target_type").loc["project", "coder"] == "colin"
    assert atlas.size("lost", "links between objects") == 1 and "links between objects: 1" in atlas.text()
    maxqda_project = fresh("m")
    maxqda = import_qdpx(maxqda_project, REFI / "maxqda_style.qdpx")
    assert (
        maxqda.changes["project file name"]
        and "empty lists (the schema wants at least one item; removed)" in maxqda.changes
    )
    assert maxqda_project.documents().iloc[0].attributes["Site"] == "C"
    assert "Autonomy, or just no rules yet?" in set(maxqda_project.memos().text)
    first = maxqda_project.codings().set_index("id").loc["c0d10000-0000-4000-8000-000000000000"]
    assert first.created_at == "2023-05-01T08:00:00.000+00:00", "times kept in the store's UTC form"


def test_both_selection_layouts_keep_every_coder(fresh, tmp_path):
    """A selection per span holding several coders' codings (clhs-mechanisms 0.1) and a selection per coding
    (NVivo, MAXQDA-style) both import with each coding's own coder; the export is a selection per coding,
    which a reader following QualCoder's rules reads back whole."""
    old = REFI / "shared_selection.qdpx"
    assert set(qualcoder_read(old)) == {"ana"}, (
        "QualCoder reads every coding of a shared selection as its first coder"
    )
    project = fresh()
    import_qdpx(project, old)
    assert project.codings().groupby("coder").size().to_dict() == {"ana": 1, "ben": 2}
    export_qdpx(project, tmp_path / "out.qdpx")
    assert qualcoder_read(tmp_path / "out.qdpx") == held(project)
    assert sum(len(v) for v in held(project).values()) == 3
    two = fresh("two")
    import_qdpx(two, REFI / "maxqda_style.qdpx")
    assert two.codings().groupby("coder").size().to_dict() == {"Ines": 2, "Tom": 3}
    export_qdpx(two, tmp_path / "two.qdpx")
    assert qualcoder_read(tmp_path / "two.qdpx") == held(two)


def test_taguette_codebook_with_empty_sets_imports(cli, tmp_path, mini_codebook_path):
    assert cli("init", tmp_path / "proj", "--codebook", mini_codebook_path).exit_code == 0
    result = cli("import-qdc", REFI / "taguette_style.qdc", "--project", tmp_path / "proj")
    assert result.exit_code == 0, result.output
    assert "1 codes matched, 2 codes added" in result.output, (
        "'helping others' is the mini codebook's mot_help"
    )
    assert "empty lists (the schema wants at least one item; removed): 1" in result.output
    with Project.open(tmp_path / "proj") as project:
        assert {"interesting", "registry_burden"} <= set(project.codebook.code_ids)


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory):
    """The demo project (without training) and its .qdpx export."""
    from clhs_mechanisms.demo import run_demo

    folder = tmp_path_factory.mktemp("demo")
    project = run_demo(folder / "demo", train=False, echo=lambda _: None)
    report = export_qdpx(project, folder / "demo.qdpx")
    yield project, folder / "demo.qdpx", report
    project.close()


def test_demo_export_keeps_every_coders_codings_for_qualcoder(demo_export):
    project, path, report = demo_export
    mine, theirs = held(project), qualcoder_read(path)
    assert {c: len(v) for c, v in theirs.items()} == {c: len(v) for c, v in mine.items()}
    assert theirs == mine
    assert set(mine) == {"gold", "coder-1", "coder-2"}
    patterns = [c.id for c in project.codebook.codes if c.patterns]
    assert report.size("lost", "spaCy token patterns (no REFI-QDA field; kept in the YAML codebook)") == len(
        patterns
    )
    assert report.counts["codings"] == sum(len(v) for v in mine.values())


def test_offsets_map_crlf_and_decomposed_accents():
    src = SourceText("Ab\r\ncafe\u0301 x\r\nend")
    assert src.text == "Ab\ncafé x\nend"
    start, end = src.span(4, 9, basis="raw", convention="exclusive")
    assert src.text[start:end] == "café"
    assert src.span(3, 7, basis="lf", convention="inclusive") == (3, 7)
    assert choose_convention([(src, [Selection(3, 8, "café")])]).basis == "lf"
    assert choose_convention([(src, [Selection(4, 9, "café")])]).basis == "raw"


# -- bad input --------------------------------------------------------------------------------


# One XML element a line, as the tests' line numbers expect; long elements are split in Python only.
GOOD_QDE = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<Project xmlns="urn:QDA-XML:project:1.0" name="t">\n'
    '  <Users><User guid="11111111-1111-4111-8111-111111111111" name="u"/></Users>\n'
    '  <CodeBook><Codes><Code guid="22222222-2222-4222-8222-222222222222" name="c" '
    'isCodable="true"/></Codes></CodeBook>\n'
    "  <Sources>\n"
    '    <TextSource guid="33333333-3333-4333-8333-333333333333" name="s.txt" '
    'plainTextPath="internal://s.txt">\n'
    '      <PlainTextSelection guid="44444444-4444-4444-8444-444444444444" startPosition="0" '
    'endPosition="5">\n'
    '        <Coding guid="55555555-5555-4555-8555-555555555555"><CodeRef '
    'targetGUID="22222222-2222-4222-8222-222222222222"/></Coding>\n'
    "      </PlainTextSelection>\n"
    "    </TextSource>\n"
    "  </Sources>\n"
    "</Project>\n"
)


def make_qdpx(
    path: Path,
    qde_text: str = GOOD_QDE,
    *,
    extra: dict[str, bytes] | None = None,
    qde_name: str | None = "project.qde",
) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        if qde_name:
            zf.writestr(qde_name, qde_text)
        zf.writestr("sources/s.txt", "Hello world, this is the text.")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


BAD = {
    "not_a_zip": (lambda p: (p.write_bytes(b"%PDF-1.4 not a zip"), p)[1], "not a REFI-QDA project"),
    "no_qde": (lambda p: make_qdpx(p, qde_name=None), "no .qde project file"),
    "malformed": (
        lambda p: make_qdpx(p, GOOD_QDE.replace("</Sources>", "</Source>")),
        "not well-formed XML: line 1",
    ),
    "schema": (
        lambda p: make_qdpx(p, GOOD_QDE.replace(' isCodable="true"', "")),
        "does not conform to the REFI-QDA project schema: line 4",
    ),
    "out_of_range": (
        lambda p: make_qdpx(p, GOOD_QDE.replace('endPosition="5"', 'endPosition="500"')),
        "line 7: selection 44444444-4444-4444-8444-444444444444 (0-500) is outside the text",
    ),
    "undefined_code": (
        lambda p: make_qdpx(p, GOOD_QDE.replace('CodeRef targetGUID="2222', 'CodeRef targetGUID="9999')),
        "refers to code 99992222-2222-4222-8222-222222222222, which the codebook does not define",
    ),
    "duplicate_guid": (
        lambda p: make_qdpx(
            p,
            GOOD_QDE.replace(
                "</Codes>",
                '<Code guid="22222222-2222-4222-8222-222222222222" name="d" isCodable="true"/></Codes>',
            ),
        ),
        "duplicate GUID 22222222-2222-4222-8222-222222222222",
    ),
    "zip_slip": (lambda p: make_qdpx(p, extra={"../../evil.txt": b"x"}), "unsafe path '../../evil.txt'"),
    "too_large": (lambda p: make_qdpx(p, extra={"sources/big.txt": b"0" * 3_000_000}), "archive too large"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_qdpx_is_refused_with_one_line_and_nothing_written(cli, tmp_path, mini_codebook_path, case):
    make, message = BAD[case]
    path = make(tmp_path / f"{case}.qdpx")
    assert cli("init", tmp_path / "proj", "--codebook", mini_codebook_path).exit_code == 0
    args = ["import-qdpx", path, "--project", tmp_path / "proj"] + (
        ["--max-size", "1"] if case == "too_large" else []
    )
    line = one_line_error(cli(*args))
    assert message in line, line
    with Project.open(tmp_path / "proj") as project:
        info = project.status()
        assert (info["documents"], info["codings"], info["codebook"]) == (0, 0, "mini 0.1.0")
    assert not (tmp_path / "proj" / "exchange").exists()


def test_the_good_base_of_the_bad_cases_imports_and_lenient_namespace(fresh, tmp_path):
    project = fresh()
    report = import_qdpx(project, make_qdpx(tmp_path / "good.qdpx"))
    assert report.counts["codings"] == 1 and set(project.codings().quote) == {"Hello"}
    saved = sorted(p.name for p in (project.directory / "exchange").iterdir())
    assert any(n.endswith(".yaml") for n in saved) and any(n.endswith("good.qdpx.txt") for n in saved)
    old = GOOD_QDE.replace('xmlns="urn:QDA-XML:project:1.0"', 'xmlns="urn:QDA-XML:project:0:10"')
    other = fresh("other")
    report = import_qdpx(other, make_qdpx(tmp_path / "old.qdpx", old, qde_name="Project.QDE"))
    assert (
        report.counts["codings"] == 1
        and "namespace" in report.changes
        and "project file name" in report.changes
    )


def test_bad_qdc_is_refused(cli, tmp_path, mini_codebook_path):
    assert cli("init", tmp_path / "proj", "--codebook", mini_codebook_path).exit_code == 0
    (tmp_path / "bad.qdc").write_text("<CodeBook xmlns='urn:QDA-XML:codebook:1.0'><Codes></Codes></CodeBook>")
    line = one_line_error(cli("import-qdc", tmp_path / "bad.qdc", "--project", tmp_path / "proj"))
    assert "does not conform to the REFI-QDA codebook schema: line 1" in line
    (tmp_path / "not.qdc").write_text("just text")
    assert "not well-formed XML" in one_line_error(
        cli("import", tmp_path / "not.qdc", "--project", tmp_path / "proj")
    )


def test_decompression_is_counted_not_trusted(fresh, tmp_path):
    path = make_qdpx(tmp_path / "big.qdpx", extra={"sources/big.txt": b"0" * 500_000})
    with pytest.raises(ClhsError, match="archive too large"):
        import_qdpx(fresh(), path, max_bytes=100_000)
    from clhs_mechanisms.interop.refi_archive import QdpxArchive

    with QdpxArchive(path, max_bytes=10_000_000) as archive:
        archive.max_bytes = 1_000  # as if the declared sizes had lied
        member = archive.source("internal://big.txt")
        with pytest.raises(ClhsError, match="more than 1,000 bytes after decompression"):
            archive.read(member)


def test_import_is_one_transaction(fresh, tmp_path, built):
    export_qdpx(built, tmp_path / "p.qdpx")
    target = fresh()
    clash = built.documents().set_index("name").loc["p02.txt", "id"]
    with target.exchange_transaction() as conn:  # a different text under p02's GUID
        from clhs_mechanisms.corpus.model import Document

        target.exchange_document(
            conn,
            clash,
            Document("elsewhere.txt", "interview", "Other text.", (), "0" * 64),
            [],
            case_id=None,
            imported_at="2024-01-01T00:00:00Z",
        )
    with pytest.raises(ClhsError, match="already in the project with a different text"):
        import_qdpx(target, tmp_path / "p.qdpx")
    info = target.status()
    assert info["documents"] == 1 and info["codings"] == 0 and info["memos"] == 0 and info["coders"] == 0


def test_import_dispatch_and_report(cli, built, tmp_path, mini_codebook_path):
    assert cli("export", "qdpx", tmp_path / "p.qdpx", "--project", built.directory).exit_code == 0
    assert cli("init", tmp_path / "b", "--codebook", mini_codebook_path).exit_code == 0
    result = cli("import", tmp_path / "p.qdpx", "--project", tmp_path / "b")
    assert result.exit_code == 0 and "import qdpx" in result.output and "report saved to" in result.output
    result = cli("import", "qdpx", tmp_path / "p.qdpx", "--project", tmp_path / "b")
    assert result.exit_code == 0 and "5 codings already in the project" in result.output
    one_line_error(
        cli("import", tmp_path / "p.qdpx", tmp_path / "files" / "p01.txt", "--project", tmp_path / "b")
    )
    assert cli("export", "qdc", tmp_path / "c.qdc", "--project", built.directory).exit_code == 0
    result = cli("import", tmp_path / "c.qdc", "--project", tmp_path / "b")
    assert result.exit_code == 0 and "3 codes matched" in result.output


def test_exports_are_atomic(built, tmp_path, monkeypatch, cli):
    target = tmp_path / "keep.qdpx"
    target.write_bytes(b"previous export")

    def boom(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", boom)
    with pytest.raises(OSError):
        export_qdpx(built, target)
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".keep")] == []
    monkeypatch.undo()
    one_line_error(cli("export", "qdpx", tmp_path / "nowhere" / "x.qdpx", "--project", built.directory))


# -- tables, documents, matrices, training -----------------------------------------------------


def test_codings_csv_and_excel(built, cli, tmp_path):
    table = codings_table(built)
    assert {"memo", "attr_role", "quote", "speaker"} <= set(table.columns)
    assert table.set_index("code").loc["mot_help", "memo"] == "Why helping, not credit?"
    out = tmp_path / "c.xlsx"
    result = cli("export", "codings", "--format", "xlsx", "-o", out, "--project", built.directory)
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    wb = load_workbook(out)
    assert wb.sheetnames[:2] == ["codings", "codes"]
    assert {"mot_help", "mot_credit", "ppi_registry"} <= set(wb.sheetnames)
    header = [c.value for c in wb["codings"][1]]
    for col in ("document", "speaker", "attr_role", "code", "domain", "coder", "quote", "span", "memo"):
        assert col in header
    cells = [row[header.index("quote")] for row in wb["codings"].iter_rows(min_row=2)]
    formula = [c for c in cells if c.value == '=HYPERLINK("x")']
    assert len(formula) == 1 and formula[0].data_type == "s", "a quote that looks like a formula stays text"
    assert wb["mot_credit"].max_row == 3  # header + two codings
    one_line_error(cli("export", "codings", "--format", "xlsx", "--project", built.directory))


def test_codebook_documents(built, cli, tmp_path):
    shipped = load_codebook(Path(__file__).resolve().parents[1] / "codebook" / "clhs_mechanisms.yaml")
    md = codebook_markdown(shipped)
    assert md.startswith("# CLHS mechanisms of action codebook")
    assert f"version {shipped.version}" in md and "## Hypotheses" in md and "### H1" in md
    for domain in shipped.domains:
        assert f"## {domain.label} ({domain.id})" in md
    for code in shipped.codes:
        assert f"### {code.id}: {code.label}" in md
    assert "**Include**" in md and "**Exclude**" in md and "**Examples**" in md
    html = codebook_html(built.codebook)
    assert html.startswith("<!DOCTYPE html>") and "Helping others" in html and "<script" not in html
    assert "taking part for credit (use mot_credit)" in html and "background:#4C78A8" in html
    out = tmp_path / "cb.md"
    assert cli("export", "codebook", "--format", "md", "-o", out, "--project", built.directory).exit_code == 0
    assert "## Motivations (mot)" in out.read_text(encoding="utf-8")


def test_matrices(built, cli, tmp_path):
    by_doc = code_by_document(built)
    assert list(by_doc.index) == ["mot_help", "mot_credit", "ppi_registry"]
    assert by_doc.loc["mot_credit", "p01.txt"] == 2 and by_doc.loc["ppi_registry", "p02.txt"] == 2
    assert by_doc.loc["mot_help", "p02.txt"] == 0
    spans = code_by_document(built, count="segments")
    assert spans.loc["mot_credit", "p01.txt"] == 2 and spans.loc["mot_help", "p01.txt"] == 1
    by_role = code_by_attribute(built, "role", count="documents")
    assert list(by_role.columns) == ["clinician", "parent"] and by_role.loc["mot_credit", "parent"] == 1
    by_site = code_by_attribute(built, "site")
    assert list(by_site.columns) == ["north", "(missing)"] and by_site.loc["ppi_registry", "(missing)"] == 2
    with pytest.raises(ClhsError, match="no document has the attribute 'age'"):
        code_by_attribute(built, "age")
    result = cli("export", "matrix", "--by", "role", "--project", built.directory)
    assert result.exit_code == 0 and result.output.splitlines()[0] == "code,clinician,parent"
    out = tmp_path / "m.xlsx"
    assert cli("export", "matrix", "--format", "xlsx", "-o", out, "--project", built.directory).exit_code == 0
    one_line_error(cli("export", "matrix", "--by", "age", "--project", built.directory))


def test_training_exports(built, cli, tmp_path):
    examples = list(training_examples(built))
    reviewed = {e["id"] for e in examples}
    assert [e["id"] for e in examples] == ["p01.txt#1", "p01.txt#2", "p01.txt#4", "p02.txt#1"]
    assert examples[1]["codes"] == [], "a segment whose only suggestion was rejected is a negative example"
    assert examples[0]["codes"] == ["mot_credit", "mot_help"] and examples[3]["codes"] == ["ppi_registry"]
    for e in examples:
        assert set(e) >= {
            "id",
            "text",
            "codes",
            "source",
            "role",
            "document",
            "start",
            "end",
            "cats",
            "spans",
        }
        assert built.document_text(e["document"])[e["start"] : e["end"]] == e["text"]
        assert e["cats"] == {c: int(c in e["codes"]) for c in ("mot_help", "mot_credit", "ppi_registry")}
        for s in e["spans"]:
            assert 0 <= s["start"] < s["end"] <= len(e["text"])
    out = tmp_path / "t.jsonl"
    assert (
        cli("export", "training", "--format", "jsonl", "-o", out, "--project", built.directory).exit_code == 0
    )
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines == examples
    spacy_out = tmp_path / "t.spacy"
    assert (
        cli(
            "export", "training", "--format", "spacy", "-o", spacy_out, "--project", built.directory
        ).exit_code
        == 0
    )
    import spacy
    from spacy.tokens import DocBin

    docs = list(DocBin().from_bytes(spacy_out.read_bytes()).get_docs(spacy.blank("en").vocab))
    assert [d.text for d in docs] == [e["text"] for e in examples]
    assert [{k: int(v) for k, v in d.cats.items()} for d in docs] == [e["cats"] for e in examples]
    assert any(len(d.spans["sc"]) for d in docs) and docs[0].user_data["document"] == examples[0]["document"]
    credit = built.codings().query("document == 'p01.txt' and quote.str.startswith('We joined')").id.iloc[0]
    built.delete_coding(credit, coder="ana")
    assert [e["id"] for e in training_examples(built)] == sorted(reviewed - {"p01.txt#4"})
    everything = {e["id"]: e for e in training_examples(built, include_unreviewed=True)}
    assert set(everything) == reviewed and everything["p01.txt#4"]["codes"] == []


def test_packaged_schemas_are_the_standard_ones():
    for name in ("Project.xsd", "Codebook.xsd"):
        assert (SCHEMAS / name).read_bytes() == (XSD_DIR / name).read_bytes()


def test_exports_write_only_regular_files(tmp_path):
    """A device or a pipe is never replaced by an export; a symbolic link is written through and
    stays a link."""
    from clhs_mechanisms.interop.files import write_text_atomic

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ClhsError, match="not a regular file"):
        write_text_atomic(fifo, "x")
    assert fifo.is_fifo()
    with pytest.raises(ClhsError, match="not a regular file"):
        write_text_atomic("/dev/null", "x")
    real = tmp_path / "real.csv"
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new"


@pytest.mark.parametrize(
    "place", ["<Description>&x;</Description>", "<Description>plain</Description>"], ids=["text", "attribute"]
)
def test_xml_entities_are_refused_in_one_line(project, tmp_path, place):
    """A codebook that declares an entity (used in element text, or only in an attribute, where it
    would be expanded): one line, nothing changed; before, schema validation failed with a traceback."""
    qdc = tmp_path / "entity.qdc"
    qdc.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE CodeBook [<!ENTITY x "expanded">]>\n'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="t"><Codes>'
        f'<Code guid="22222222-2222-4222-8222-222222222222" name="c &x;" isCodable="true">{place}</Code>'
        "</Codes></CodeBook>\n",
        encoding="utf-8",
    )
    before = project.codebook.version
    result = CliRunner().invoke(main, ["import-qdc", str(qdc), "--project", str(project.directory)])
    assert result.exit_code == 2 and "declares the XML entities x" in result.output
    assert len(result.output.strip().splitlines()) == 1 and project.codebook.version == before
