"""The shipped gold data: valid, anchored in the corpus, and big enough to learn from."""

from __future__ import annotations

import collections
import csv
import json
from pathlib import Path

import pytest

from clhs_mechanisms import load_codebook, read_document
from clhs_mechanisms.codebook import shipped_codebook_path

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
GOLD = CORPUS / "gold"
FILES = ["train.jsonl", "test.jsonl", "second_coder.jsonl", "first_coder.jsonl"]


def _lines(name: str) -> list[dict]:
    rows = []
    for n, line in enumerate((GOLD / name).read_text(encoding="utf-8").splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:  # pragma: no cover - the assertion message is the point
            pytest.fail(f"{name}:{n}: not valid JSON ({exc})")
    return rows


@pytest.fixture(scope="module")
def documents() -> dict[str, str]:
    paths = [p for p in (CORPUS / "interviews").iterdir() if p.name != "attributes.csv"]
    paths += list((CORPUS / "literature").iterdir())
    return {p.name: read_document(p).text for p in paths}


@pytest.mark.parametrize("name", FILES)
def test_lines_are_valid_and_anchored(name, documents):
    codes = set(load_codebook(shipped_codebook_path()).code_ids)
    ids = set()
    for n, row in enumerate(_lines(name), 1):
        where = f"{name}:{n}"
        assert {"id", "text", "codes"} <= set(row), where
        assert row["text"].strip() and row["id"] not in ids, where
        ids.add(row["id"])
        assert set(row["codes"]) <= codes, f"{where}: unknown codes {set(row['codes']) - codes}"
        assert row["source"] in ("interview", "literature"), where
        text = documents[row["document"]]
        assert text[row["start"] : row["end"]] == row["text"], where


def _attributes() -> dict[str, dict]:
    with open(CORPUS / "interviews" / "attributes.csv", encoding="utf-8", newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


def test_corpus_size_and_variety():
    """At least 78 interviews in 11 networks with every role, 760 literature excerpts in six tables,
    each interview with its attributes row."""
    attributes = _attributes()
    interviews = sorted(p.name for p in (CORPUS / "interviews").iterdir() if p.name != "attributes.csv")
    assert len(interviews) >= 78 and sorted(attributes) == interviews
    assert len({a["network"] for a in attributes.values()}) >= 11
    roles = collections.Counter(a["role"] for a in attributes.values())
    assert {
        "pharmacist",
        "social_worker",
        "community_health_worker",
        "payer",
        "teen_patient",
        "grandparent_carer",
        "data_analyst",
        "patient",
        "parent",
        "physician",
        "nurse",
        "qi_lead",
        "qi_coach",
        "researcher",
        "hospital_leader",
        "young_adult_patient",
        "dietitian",
        "psychologist",
        "community_manager",
    } <= set(roles)
    assert {p.suffix for p in (CORPUS / "interviews").iterdir()} >= {".txt", ".md", ".vtt", ".srt", ".docx"}
    tables = list((CORPUS / "literature").iterdir())
    assert len(tables) >= 6 and {p.suffix for p in tables} == {".csv", ".xlsx"}
    excerpts = [r for r in _lines("train.jsonl") + _lines("test.jsonl") if r["source"] == "literature"]
    assert len(excerpts) >= 760


def test_coverage_minimums_and_split_by_document():
    train, test = _lines("train.jsonl"), _lines("test.jsonl")
    rows = train + test
    assert len(rows) >= 6000
    counts = collections.Counter(c for row in rows for c in row["codes"])
    assert len(counts) == 35 and min(counts.values()) >= 120, counts.most_common()[-5:]
    assert 0.08 <= sum(not row["codes"] for row in rows) / len(rows) <= 0.16  # segments that deserve no code
    assert {r["document"] for r in train}.isdisjoint({r["document"] for r in test})
    assert 0.2 <= len(test) / len(rows) <= 0.3
    assert {r["source"] for r in test} == {"interview", "literature"}
    # literature is split by review table: a table is wholly in one half (a document is one table)
    network = {name: a["network"] for name, a in _attributes().items()}
    train_nets = {network[r["document"]] for r in train if r["source"] == "interview"}
    test_nets = {network[r["document"]] for r in test if r["source"] == "interview"}
    assert len(test_nets - train_nets) >= 2  # whole networks seen only in the test: transfer
    assert len(train_nets & test_nets) >= 9  # the others in both halves


def test_double_coding_is_adjudicated_into_gold():
    first, second = _lines("first_coder.jsonl"), _lines("second_coder.jsonl")
    assert len(second) >= 150 and [r["id"] for r in first] == [r["id"] for r in second]
    # round 2 double-coded at least a tenth of the segments of the documents it added
    first_round = tuple(f"int{n:02d}_" for n in range(1, 19)) + ("review_round1.", "review_round2.")
    new = [
        r for r in _lines("train.jsonl") + _lines("test.jsonl") if not r["document"].startswith(first_round)
    ]
    assert sum(r.get("round") == 2 for r in first) >= 0.1 * len(new) > 0
    gold = {r["id"]: set(r["codes"]) for r in _lines("train.jsonl") + _lines("test.jsonl")}
    adjudicated = {r["id"]: set(r["final"]) for r in _lines("adjudication.jsonl")}
    for a, b in zip(first, second):
        if set(a["codes"]) == set(b["codes"]):
            assert gold[a["id"]] == set(a["codes"])
        else:
            assert gold[a["id"]] == adjudicated[a["id"]], a["id"]
