"""Build the hand-made REFI-QDA fixtures in this folder (run it to regenerate them).

Each archive imitates the quirks other tools' exports are known for; the texts, names
and GUIDs are invented for the tests. ``expected.json`` lists, per fixture, the quotes
that its codings must select after import.

* qualcoder_style.qdpx: ``project.qde`` and ``sources/``, lower-case GUIDs, categories
  (non-codable codes) with codes and a sub-code, variables on cases, end-exclusive
  positions, a coding memo as a selection Description, a journal as a project note.
* atlas_style.qdpx: the project file is ``Breakfast study.qde`` (not ``project.qde``),
  ``Sources/`` in capitals, GUIDs in capitals and braces, a schemaLocation naming
  version 1.5, text files stored with CRLF line ends but positions counted as if each
  line end were one character, selection names that repeat the quote, a picture with a
  coded area, a link, a graph and a set.
* nvivo_style.qdpx: Windows text (CRLF) with positions counted over the file as stored
  (CRLF = two characters), a decomposed accent (e + U+0301) before some selections,
  codable top-level codes with children (one coded itself), variables on cases, and
  one coding that points at a case instead of a code.
* inclusive_end.qdpx: endPosition is the last selected character (end-inclusive), as a
  literal reading of the standard's "first and last character" suggests.
* maxqda_style.qdpx: the project file is ``Trial.qde``, GUIDs in capitals, one selection
  per coding, two coders on the same span (two selections), codings that name no user
  (the selection's user is the coder, as QualCoder reads it), variables on the source,
  a selection with a Description and no coding (a memo), and an empty ``<Links/>``.
* shared_selection.qdpx: the layout clhs-mechanisms 0.1 exported: one selection per span
  whose ``creatingUser`` is the first coder, holding every coder's coding of that span.
* taguette_style.qdc: Taguette's codebook export (taguette/export.py ``codebook_xml``): one
  line, flat codes named by their tag path, GUIDs in capitals, no descriptions, and an
  empty ``<Sets/>`` that the schema does not allow.

``expected.json`` also names the coder of the codings where a fixture is about coders.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

HERE = Path(__file__).parent
NS = "urn:QDA-XML:project:1.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def loc(text: str, quote: str, nth: int = 0) -> tuple[int, int]:
    """(start, end) of the nth occurrence of ``quote`` in the LF text, end-exclusive."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(quote, start + 1)
    return start, start + len(quote)


def crlf_pos(text: str, pos: int) -> int:
    """A position in the LF text, counted in the same text stored with CRLF line ends."""
    return pos + text.count("\n", 0, pos)


def attrs(**kw: object) -> str:
    return "".join(f" {k.rstrip('_')}={quoteattr(str(v))}" for k, v in kw.items() if v is not None)


def write(name: str, qde_name: str, qde: str, sources: dict[str, bytes], folder: str = "sources") -> None:
    def member(path: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    with zipfile.ZipFile(HERE / name, "w") as zf:
        zf.writestr(member(qde_name), qde.encode("utf-8"))
        for fname, data in sources.items():
            zf.writestr(member(f"{folder}/{fname}"), data)


EXPECTED: dict[str, list[dict]] = {}


# -- QualCoder-style ---------------------------------------------------------------------


def qualcoder() -> None:
    text = (
        "Interviewer: How did you first hear about the network?\n"
        "P07: A nurse told us about it after my daughter's second flare. I joined because I wanted "
        "other parents to skip the scary part.\n"
        "Interviewer: And the registry?\n"
        "P07: The dashboard is the first thing I open before a visit. It shows how her numbers moved.\n"
    )
    text2 = (
        "Site B field note. The QI lead said the monthly data call is required for certification, "
        "so attendance is near perfect.\n"
    )
    u1, u2 = "0b1e6f4a-2f0e-4d55-9d7b-6c1c8f1d2a01", "0b1e6f4a-2f0e-4d55-9d7b-6c1c8f1d2a02"
    cat_mot, c_help, c_credit = (
        "1a000000-0000-4000-8000-000000000001",
        "1a000000-0000-4000-8000-000000000002",
        "1a000000-0000-4000-8000-000000000003",
    )
    cat_data, c_reg, c_dash = (
        "1a000000-0000-4000-8000-000000000004",
        "1a000000-0000-4000-8000-000000000005",
        "1a000000-0000-4000-8000-000000000006",
    )
    s1, s2 = "2b000000-0000-4000-8000-000000000001", "2b000000-0000-4000-8000-000000000002"
    v_role, v_age = "3c000000-0000-4000-8000-000000000001", "3c000000-0000-4000-8000-000000000002"
    case = "4d000000-0000-4000-8000-000000000001"
    n_journal, n_coding = "5e000000-0000-4000-8000-000000000001", "5e000000-0000-4000-8000-000000000002"
    sels = [
        (
            s1,
            "I joined because I wanted other parents to skip the scary part.",
            c_help,
            u1,
            "Pay it forward?",
        ),
        (s1, "The dashboard is the first thing I open before a visit.", c_dash, u2, None),
        (
            s1,
            "The dashboard is the first thing I open before a visit. It shows how her numbers moved.",
            c_reg,
            u1,
            None,
        ),
        (s2, "the monthly data call is required for certification", c_credit, u2, None),
    ]
    expected, body = [], {s1: [], s2: []}
    for i, (src, quote, code, user, desc) in enumerate(sels):
        t = text if src == s1 else text2
        a, b = loc(t, quote)
        sel_guid = f"6f000000-0000-4000-8000-{i:012d}"
        coding_guid = f"7a000000-0000-4000-8000-{i:012d}"
        note = f'<NoteRef targetGUID="{n_coding}"/>' if i == 0 else ""
        d = f"<Description>{escape(desc)}</Description>" if desc else ""
        body[src].append(
            f"<PlainTextSelection{attrs(guid=sel_guid, name='', startPosition=a, endPosition=b, creatingUser=user, creationDateTime='2024-03-0%dT10:00:00Z' % (i + 1))}>"
            f"{d}<Coding{attrs(guid=coding_guid, creatingUser=user, creationDateTime='2024-03-0%dT10:00:00Z' % (i + 1))}>"
            f'<CodeRef targetGUID="{code}"/>{note}</Coding></PlainTextSelection>'
        )
        expected.append(
            {
                "source": "interview_p07.txt" if src == s1 else "site_b_note.txt",
                "quote": quote,
                "code_guid": code,
                "coding_guid": coding_guid,
            }
        )
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="{NS}" xmlns:xsi="{XSI}" name="Parents study" origin="QualCoder 3.5" creationDateTime="2024-03-01T09:00:00Z" xsi:schemaLocation="{NS} Project.xsd">
<Users><User guid="{u1}" name="colin"/><User guid="{u2}" name="ana"/></Users>
<CodeBook><Codes>
<Code guid="{cat_mot}" name="Motivation" isCodable="false">
  <Code guid="{c_help}" name="Helping others" isCodable="true" color="#EB7333"><Description>Wanting to spare other families what we went through.</Description></Code>
  <Code guid="{c_credit}" name="Credit and mandates" isCodable="true" color="#A0C4FF"/>
</Code>
<Code guid="{cat_data}" name="Data systems" isCodable="false">
  <Code guid="{c_reg}" name="Registry" isCodable="true" color="#33CC33">
    <Code guid="{c_dash}" name="Dashboard" isCodable="true" color="#3C3"/>
  </Code>
</Code>
</Codes></CodeBook>
<Variables><Variable guid="{v_role}" name="role" typeOfVariable="Text"/><Variable guid="{v_age}" name="age" typeOfVariable="Integer"/></Variables>
<Cases><Case guid="{case}" name="P07">
  <VariableValue><VariableRef targetGUID="{v_role}"/><TextValue>parent</TextValue></VariableValue>
  <VariableValue><VariableRef targetGUID="{v_age}"/><IntegerValue>41</IntegerValue></VariableValue>
  <SourceRef targetGUID="{s1}"/>
</Case></Cases>
<Sources>
<TextSource guid="{s1}" name="interview_p07.txt" plainTextPath="internal://{s1}.txt" creatingUser="{u1}" creationDateTime="2024-03-01T09:30:00Z">
{"".join(body[s1])}
</TextSource>
<TextSource guid="{s2}" name="site_b_note.txt" plainTextPath="internal://{s2}.txt" creatingUser="{u2}" creationDateTime="2024-03-01T09:40:00Z">
<Description>Field note written after the site visit.</Description>
{"".join(body[s2])}
<VariableValue><VariableRef targetGUID="{v_role}"/><TextValue>QI lead</TextValue></VariableValue>
</TextSource>
</Sources>
<Notes>
<Note guid="{n_journal}" name="Journal" creatingUser="{u1}" creationDateTime="2024-03-01T09:05:00Z" modifiedDateTime="2024-03-02T08:00:00Z"><PlainTextContent>Decided to code registry talk at the sentence level.</PlainTextContent></Note>
<Note guid="{n_coding}" name="Memo on coding" creatingUser="{u2}" creationDateTime="2024-03-01T11:00:00Z"><PlainTextContent>Classic giving back.</PlainTextContent></Note>
</Notes>
<NoteRef targetGUID="{n_journal}"/>
</Project>
"""
    write(
        "qualcoder_style.qdpx", "project.qde", qde, {f"{s1}.txt": text.encode(), f"{s2}.txt": text2.encode()}
    )
    EXPECTED["qualcoder_style.qdpx"] = expected


# -- ATLAS.ti-style ----------------------------------------------------------------------


def atlas() -> None:
    text = (
        "Breakfast diary, week 2\n"
        "\n"
        "Monday: cornflakes again, eaten standing up.\n"
        "Tuesday: the hotel served bacon and eggs and I felt human.\n"
        "Wednesday: skipped it, rushed to the clinic.\n"
    )
    file_bytes = text.replace("\n", "\r\n").encode("utf-8")
    user = "AD68FBE7-E1EE-4A82-A279-23CC698C89EB"
    src = "69A4332D-5B31-4915-B520-5275CFC21B40"
    txt = "01106019-2518-43DD-BBD1-8F0252BACB30"
    pic = "02255470-09E6-400B-9E20-97D71FBEC65D"
    codes = {
        "happy": "{85D17F60-7BB0-481E-B742-B4861DD669DF}",
        "cornflakes": "AE6D04CE-D987-4FC8-AF97-D72CA6FFD08F",
        "rushed": "9F43FE32-C2CB-4BA8-B766-A0734C826E49",
    }
    note = "E41BE463-FDF3-4ED0-B668-119C53D8D687"
    sels = [
        (
            "cornflakes again, eaten standing up",
            "cornflakes",
            "{4191294A-E287-4510-95B0-69BCE4638E56}",
            "445A6AEC-1400-4502-919D-0867832FF211",
        ),
        (
            "the hotel served bacon and eggs and I felt human",
            "happy",
            "B49D7982-BB8E-4335-80AF-DC869CCC3F45",
            "2284BF5B-8F78-45B6-A6EF-A128D991408B",
        ),
        (
            "skipped it, rushed to the clinic",
            "rushed",
            "2F24EA88-C6A7-482B-8F89-893EF66D7A21",
            "89B9918E-4209-4FE0-BEA0-0C7FF56D67A4",
        ),
    ]
    body, expected = [], []
    for i, (quote, code, sel, coding) in enumerate(sels):
        a, b = loc(text, quote)  # ATLAS.ti counts each CRLF of the stored file as one position
        name = quote if len(quote) < 40 else quote[:30] + "…"
        extra = f'<NoteRef targetGUID="{note}"/>' if i == 1 else ""
        body.append(
            f"<PlainTextSelection{attrs(startPosition=a, endPosition=b, guid=sel, name=name, creatingUser=user, creationDateTime='2018-03-27T19:0%d:00Z' % i, modifyingUser=user, modifiedDateTime='2018-03-27T19:0%d:00Z' % i)}>"
            f"<Coding{attrs(creatingUser=user, creationDateTime='2018-03-27T19:0%d:00Z' % i, guid=coding)}>"
            f'<CodeRef targetGUID="{codes[code]}"/></Coding>{extra}</PlainTextSelection>'
        )
        expected.append(
            {
                "source": "Breakfast diary.docx",
                "quote": quote,
                "code_guid": codes[code].strip("{}").lower(),
                "coding_guid": coding.lower(),
            }
        )
    a, b = loc(text, "Breakfast diary, week 2")
    body.append(
        f"<PlainTextSelection{attrs(startPosition=a, endPosition=b, guid='7532038C-670E-471B-AA89-A1098E9A4E30', name='Quotation 1:4', creatingUser=user, creationDateTime='2018-03-27T19:09:00Z')}>"
        f"<Description>Title line: the diary is self-reported.</Description></PlainTextSelection>"
    )
    qde = f"""<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<Project xmlns="{NS}" xmlns:xsi="{XSI}" origin="ATLAS.ti 8.4.0 (hand-made imitation)" creatingUserGUID="{user}" modifiedDateTime="2018-03-27T17:46:39Z" creationDateTime="2018-03-27T17:46:39Z" name="Breakfast study" xsi:schemaLocation="{NS} http://schema.qdasoftware.org/versions/Project/v1.5/Project.xsd">
    <Users>
        <User guid="C32A2BD5-537F-4838-8B17-DF9EFBAFDF4B" name="ATLAS.ti"/>
        <User guid="{user}" name="Friedrich"/>
    </Users>
    <CodeBook>
        <Codes>
            <Code color="#F00082" isCodable="true" name="happiness" guid="{codes["happy"]}"><Description>moments of contentment</Description></Code>
            <Code color="#DC0000" isCodable="true" name="cornflakes" guid="{codes["cornflakes"]}"/>
            <Code color="#F00082" isCodable="true" name="&quot;rushed&quot;" guid="{codes["rushed"]}"/>
        </Codes>
    </CodeBook>
    <Sources>
        <TextSource plainTextPath="internal://{txt}.txt" richTextPath="internal://B5566006-EB5F-43F0-9BC2-DBCD4D2F73F7.docx" creatingUser="{user}" creationDateTime="2018-03-27T18:01:07Z" guid="{src}" name="Breakfast diary.docx">
            {"".join(body)}
        </TextSource>
        <PictureSource path="internal://87EAD86F-3112-4537-8A01-01427CAE1C6D.jpg" guid="{pic}" name="cornflakes-n-milk.jpg">
            <PictureSelection firstX="267" firstY="1" secondX="992" secondY="720" guid="7532038C-670E-471B-AA89-A1098E9A4E33" name="Quotation 6:1">
                <Coding guid="8205358C-5489-4F75-A86D-C7A3DF1571CE"><CodeRef targetGUID="{codes["cornflakes"]}"/></Coding>
            </PictureSelection>
        </PictureSource>
    </Sources>
    <Notes>
        <Note creatingUser="{user}" creationDateTime="2018-03-27T19:41:28Z" modifyingUser="{user}" name="My favourite entry" modifiedDateTime="2018-03-27T19:43:23Z" guid="{note}">
            <PlainTextContent>Tuesday shows what a proper breakfast does for mood.</PlainTextContent>
        </Note>
    </Notes>
    <Links>
        <Link direction="OneWay" color="#000000" originGUID="{note}" name="Memo-Quotation Relation" targetGUID="B49D7982-BB8E-4335-80AF-DC869CCC3F45" guid="7B56978E-9D9F-4D47-B4EC-436E2F6B8BE5"/>
    </Links>
    <Sets>
        <Set guid="C29B5DB8-2ED6-406B-BFD2-68E8E273C1E9" name="Diaries"><MemberSource targetGUID="{src}"/></Set>
    </Sets>
    <Graphs>
        <Graph guid="2BD17780-DA8D-4F9E-835A-5FA8CF02EF11" name="Netzwerk">
            <Vertex firstX="103" firstY="26" representedGUID="{src}" guid="B169A012-304E-49AC-A753-2543F08987AF" name="diary" shape="Rectangle"/>
        </Graph>
    </Graphs>
</Project>
"""
    write(
        "atlas_style.qdpx",
        "Breakfast study.qde",
        qde,
        {
            f"{txt}.txt": file_bytes,
            "87EAD86F-3112-4537-8A01-01427CAE1C6D.jpg": b"\xff\xd8\xff\xe0 not a real jpeg",
        },
        folder="Sources",
    )
    EXPECTED["atlas_style.qdpx"] = expected


# -- NVivo-style ---------------------------------------------------------------------------


def nvivo() -> None:
    lf_text = (
        "Transcript - Dr Okafor, 12 May\n"
        "\n"
        "Q: What keeps the team in the collaborative?\n"
        "A: Honestly the other sites. We steal each other's ideas at the learning sessions.\n"
        "We meet at the cafe\u0301 on level 2 after every call.\n"
        "A: Also the hospital counts it toward our quality bonus, which helps.\n"
        "A: And nobody reports to anybody; we choose our own tests of change.\n"
    )
    raw = lf_text.replace("\n", "\r\n")
    nfc = lf_text.replace("e\u0301", "\u00e9")
    users = {"5C94BC9E-DB8C-4F1D-9CD6-E900C7440860": ("Maria Lopez", "ML")}
    user = next(iter(users))
    top_mot, c_learn, c_bonus, c_auto = (
        "D1000000-0000-4000-8000-000000000001",
        "D1000000-0000-4000-8000-000000000002",
        "D1000000-0000-4000-8000-000000000003",
        "D1000000-0000-4000-8000-000000000004",
    )
    top_ctx = "D1000000-0000-4000-8000-000000000005"
    case = "CA5E0000-0000-4000-8000-000000000001"
    src = "08CBCED0-D736-44C8-8FD6-EB4D29FE46C5"
    v_prof, v_site = "AB000000-0000-4000-8000-000000000001", "AB000000-0000-4000-8000-000000000002"
    sels = [
        ("We steal each other's ideas at the learning sessions", c_learn, ""),
        ("We meet at the caf\u00e9 on level 2 after every call", top_mot, ""),
        (
            "the hospital counts it toward our quality bonus",
            c_bonus,
            "the hospital counts it toward our quality bonus",
        ),
        ("we choose our own tests of change", c_auto, ""),
        ("Honestly the other sites", case, ""),
    ]
    body, expected = [], []
    for i, (quote, code, name) in enumerate(sels):
        a, b = loc(nfc, quote)
        # positions over the stored file: CRLF counts two, the decomposed accent two code points
        ra = crlf_pos(lf_text, a + (1 if a > nfc.index("\u00e9") else 0))
        rb = crlf_pos(lf_text, b + (1 if b > nfc.index("\u00e9") else 0))
        assert raw[ra:rb].replace("e\u0301", "\u00e9") == quote, (raw[ra:rb], quote)
        body.append(
            f"<PlainTextSelection{attrs(guid=f'08CBCED0-0000-4000-8000-{i:012d}', name=name, startPosition=ra, endPosition=rb, creatingUser=user, creationDateTime='2019-06-07T03:36:3%dZ' % i)}>"
            f"<Description/><Coding{attrs(guid=f'76414714-0000-4000-8000-{i:012d}', creatingUser=user, creationDateTime='2019-06-06T06:27:0%dZ' % i)}>"
            f'<CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>'
        )
        if code != case:
            expected.append(
                {
                    "source": "Dr Okafor",
                    "quote": quote,
                    "code_guid": code.lower(),
                    "coding_guid": f"76414714-0000-4000-8000-{i:012d}",
                }
            )
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="{NS}" name="Collaborative study" origin="NVivo (hand-made imitation)" creatingUserGUID="{user}" creationDateTime="2019-06-06T06:00:00Z">
  <Users><User guid="{user}" name="Maria Lopez" id="ML"/></Users>
  <CodeBook>
    <Codes>
      <Code guid="{top_mot}" name="Motivation" isCodable="true">
        <Code guid="{c_learn}" name="Learning from peers" isCodable="true"/>
        <Code guid="{c_bonus}" name="Quality bonus" isCodable="true"><Description>External reward for taking part</Description></Code>
      </Code>
      <Code guid="{top_ctx}" name="Autonomy" isCodable="true">
        <Code guid="{c_auto}" name="Choosing own tests" isCodable="true"/>
      </Code>
    </Codes>
  </CodeBook>
  <Variables>
    <Variable guid="{v_prof}" name="Profession" typeOfVariable="Text"/>
    <Variable guid="{v_site}" name="Site size" typeOfVariable="Integer"/>
  </Variables>
  <Cases>
    <Case guid="{case}" name="Dr Okafor">
      <VariableValue><VariableRef targetGUID="{v_prof}"/><TextValue>Physician</TextValue></VariableValue>
      <VariableValue><VariableRef targetGUID="{v_site}"/><IntegerValue>250</IntegerValue></VariableValue>
      <SourceRef targetGUID="{src}"/>
    </Case>
  </Cases>
  <Sources>
    <TextSource guid="{src}" name="Dr Okafor" plainTextPath="internal://{src}.txt" creatingUser="{user}" creationDateTime="2019-06-06T06:10:00Z">
      {"".join(body)}
    </TextSource>
  </Sources>
</Project>
"""
    write("nvivo_style.qdpx", "project.qde", qde, {f"{src}.txt": raw.encode("utf-8")})
    EXPECTED["nvivo_style.qdpx"] = expected


# -- end-inclusive positions -----------------------------------------------------------------


def inclusive() -> None:
    text = (
        "P2: The registry form used to take an hour.\n"
        "P2: Now it fills itself from the chart, so I actually enter data.\n"
        "P2: Honestly I stay for the people, not the data.\n"
    )
    user, src = "9E000000-0000-4000-8000-000000000001", "9E000000-0000-4000-8000-000000000002"
    code_a, code_b = "9E000000-0000-4000-8000-000000000003", "9E000000-0000-4000-8000-000000000004"
    sels = [
        ("The registry form used to take an hour", code_a, "The registry form used to take an hour"),
        ("it fills itself from the chart", code_a, ""),
        ("I stay for the people", code_b, "I stay for the people"),
        ("actually enter data", code_a, ""),
    ]
    body, expected = [], []
    for i, (quote, code, name) in enumerate(sels):
        a, b = loc(text, quote)
        body.append(
            f"<PlainTextSelection{attrs(guid=f'9F000000-0000-4000-8000-{i:012d}', name=name, startPosition=a, endPosition=b - 1, creatingUser=user, creationDateTime='2022-01-0%dT12:00:00' % (i + 1))}>"
            f"<Coding{attrs(guid=f'9F100000-0000-4000-8000-{i:012d}', creatingUser=user, creationDateTime='2022-01-0%dT12:00:00' % (i + 1))}>"
            f'<CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>'
        )
        expected.append(
            {
                "source": "p2.txt",
                "quote": quote,
                "code_guid": code.lower(),
                "coding_guid": f"9f100000-0000-4000-8000-{i:012d}",
            }
        )
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="{NS}" name="Inclusive ends" origin="Some tool 1.0">
  <Users><User guid="{user}" name="kim"/></Users>
  <CodeBook><Codes>
    <Code guid="{code_a}" name="Data entry burden" isCodable="true"/>
    <Code guid="{code_b}" name="Belonging" isCodable="true"/>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="{src}" name="p2.txt" plainTextPath="internal://{src}.txt">{"".join(body)}</TextSource>
  </Sources>
</Project>
"""
    write("inclusive_end.qdpx", "project.qde", qde, {f"{src}.txt": text.encode()})
    EXPECTED["inclusive_end.qdpx"] = expected


# -- MAXQDA-style ---------------------------------------------------------------------------


def maxqda() -> None:
    text = (
        "Focus group, site C\n"
        "R1: The pre-visit planning sheet saves us ten minutes per patient.\n"
        "R2: I only fill it in because the network asks for it.\n"
        "R1: We copied the sheet from another centre, nobody had to approve it.\n"
    )
    users = {"A1B2C3D4-0000-4000-8000-000000000001": "Ines", "A1B2C3D4-0000-4000-8000-000000000002": "Tom"}
    ines, tom = users
    src = "C0FFEE00-0000-4000-8000-000000000001"
    codes = {
        "time": "C0DE0000-0000-4000-8000-000000000001",
        "mandate": "C0DE0000-0000-4000-8000-000000000002",
        "sharing": "C0DE0000-0000-4000-8000-000000000003",
    }
    v_site = "BA5E0000-0000-4000-8000-000000000001"
    sels = [
        ("The pre-visit planning sheet saves us ten minutes per patient.", "time", ines),
        ("The pre-visit planning sheet saves us ten minutes per patient.", "time", tom),
        ("I only fill it in because the network asks for it.", "mandate", ines),
        ("I only fill it in because the network asks for it.", "time", tom),
        ("We copied the sheet from another centre", "sharing", tom),
    ]
    body, expected = [], []
    for i, (quote, code, user) in enumerate(sels):
        a, b = loc(text, quote)
        coding = f"C0D10000-0000-4000-8000-{i:012d}"
        body.append(
            f"<PlainTextSelection{attrs(guid=f'5E100000-0000-4000-8000-{i:012d}', name=quote[:20], startPosition=a, endPosition=b, creatingUser=user, creationDateTime='2023-05-0%dT08:00:00Z' % (i + 1))}>"
            f'<Coding{attrs(guid=coding)}><CodeRef targetGUID="{codes[code]}"/></Coding></PlainTextSelection>'
        )
        expected.append(
            {
                "source": "Focus group C",
                "quote": quote,
                "code_guid": codes[code].lower(),
                "coding_guid": coding.lower(),
                "coder": users[user],
            }
        )
    a, b = loc(text, "nobody had to approve it")
    body.append(
        f"<PlainTextSelection{attrs(guid='5E100000-0000-4000-8000-000000000099', name='Memo', startPosition=a, endPosition=b, creatingUser=ines, creationDateTime='2023-05-09T08:00:00Z')}>"
        f"<Description>Autonomy, or just no rules yet?</Description></PlainTextSelection>"
    )
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="{NS}" xmlns:xsi="{XSI}" name="Trial" origin="MAXQDA 2022 (hand-made imitation)" creatingUserGUID="{ines}" creationDateTime="2023-05-01T07:00:00Z" xsi:schemaLocation="{NS} Project.xsd">
<Users>{"".join(f'<User guid="{g}" name="{n}"/>' for g, n in users.items())}</Users>
<CodeBook><Codes>
<Code guid="{codes["time"]}" name="Time saved" isCodable="true" color="#ff0000"/>
<Code guid="{codes["mandate"]}" name="Network mandate" isCodable="true" color="#00ff00"/>
<Code guid="{codes["sharing"]}" name="Sharing between centres" isCodable="true" color="#0000ff"/>
</Codes></CodeBook>
<Variables><Variable guid="{v_site}" name="Site" typeOfVariable="Text"/></Variables>
<Sources>
<TextSource guid="{src}" name="Focus group C" plainTextPath="internal://{src}.txt" richTextPath="internal://{src}.docx" creatingUser="{ines}" creationDateTime="2023-05-01T07:30:00Z">
{"".join(body)}
<VariableValue><VariableRef targetGUID="{v_site}"/><TextValue>C</TextValue></VariableValue>
</TextSource>
</Sources>
<Links/>
</Project>
"""
    write("maxqda_style.qdpx", "Trial.qde", qde, {f"{src}.txt": text.encode("utf-8")})
    EXPECTED["maxqda_style.qdpx"] = expected


# -- clhs-mechanisms 0.1 layout: one selection per span for every coder ----------------------


def shared_selection() -> None:
    text = "P9: We log every flare in the registry, and the dashboard tells us when to call.\n"
    users = {"E1000000-0000-4000-8000-000000000001": "ana", "E1000000-0000-4000-8000-000000000002": "ben"}
    ana, ben = users
    src, code_reg, code_help = (
        "E2000000-0000-4000-8000-000000000001",
        "E3000000-0000-4000-8000-000000000001",
        "E3000000-0000-4000-8000-000000000002",
    )
    quote = "We log every flare in the registry"
    a, b = loc(text, quote)
    codings = [
        ("E4000000-0000-4000-8000-000000000001", code_reg, ana),
        ("E4000000-0000-4000-8000-000000000002", code_reg, ben),
        ("E4000000-0000-4000-8000-000000000003", code_help, ben),
    ]
    inner = "".join(
        f"<Coding{attrs(guid=g, creatingUser=u, creationDateTime='2026-01-0%dT09:00:00.250+00:00' % (i + 1))}>"
        f'<CodeRef targetGUID="{c}"/></Coding>'
        for i, (g, c, u) in enumerate(codings)
    )
    qde = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Project xmlns="{NS}" xmlns:xsi="{XSI}" name="shared" origin="clhs-mechanisms 0.1.0" creationDateTime="2026-01-01T08:00:00.000+00:00">
  <Users>{"".join(f'<User guid="{g}" name="{n}"/>' for g, n in users.items())}</Users>
  <CodeBook><Codes>
    <Code guid="{code_reg}" name="Registry and data" isCodable="true"/>
    <Code guid="{code_help}" name="Helping others" isCodable="true"/>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="{src}" name="p09.txt" plainTextPath="internal://{src}.txt" creationDateTime="2026-01-01T08:00:00.000+00:00">
      <PlainTextSelection{attrs(guid="E5000000-0000-4000-8000-000000000001", name=quote, startPosition=a, endPosition=b, creatingUser=ana, creationDateTime="2026-01-01T09:00:00.250+00:00")}>{inner}</PlainTextSelection>
    </TextSource>
  </Sources>
  <Description>Text positions: end-exclusive.</Description>
</Project>
"""
    write("shared_selection.qdpx", "project.qde", qde, {f"{src}.txt": text.encode("utf-8")})
    EXPECTED["shared_selection.qdpx"] = [
        {
            "source": "p09.txt",
            "quote": quote,
            "code_guid": c.lower(),
            "coding_guid": g.lower(),
            "coder": users[u],
        }
        for g, c, u in codings
    ]


# -- Taguette codebook -----------------------------------------------------------------------


def taguette() -> None:
    tags = {
        "interesting": "5A3F6E1C-8D2B-5B7E-9C41-2F6D8A0B1E11",
        "registry.burden": "5A3F6E1C-8D2B-5B7E-9C41-2F6D8A0B1E12",
        "helping others": "5A3F6E1C-8D2B-5B7E-9C41-2F6D8A0B1E13",
    }
    codes = "".join(f'<Code guid="{g}" name="{n}" isCodable="true"/>' for n, g in tags.items())
    qdc = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="Taguette 1.4.1"><Codes>{codes}</Codes><Sets/></CodeBook>'
    )
    (HERE / "taguette_style.qdc").write_text(qdc, encoding="utf-8")


if __name__ == "__main__":
    qualcoder()
    atlas()
    nvivo()
    inclusive()
    maxqda()
    shared_selection()
    taguette()
    (HERE / "expected.json").write_text(
        json.dumps(EXPECTED, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print("wrote", ", ".join(sorted(EXPECTED)))
