"""The shipped gold data: valid, anchored in the corpus, and big enough to learn from."""

from __future__ import annotations

import collections
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
        assert text[row["start"]:row["end"]] == row["text"], where


def test_coverage_minimums_and_split_by_document():
    train, test = _lines("train.jsonl"), _lines("test.jsonl")
    assert len(train) + len(test) >= 900
    counts = collections.Counter(c for row in train + test for c in row["codes"])
    assert len(counts) == 35 and min(counts.values()) >= 15, counts.most_common()[-5:]
    assert any(not row["codes"] for row in train + test)  # segments that deserve no code
    assert {r["document"] for r in train}.isdisjoint({r["document"] for r in test})
    assert 0.2 <= len(test) / (len(train) + len(test)) <= 0.3
    assert {r["source"] for r in test} == {"interview", "literature"}


def test_double_coding_is_adjudicated_into_gold():
    first, second = _lines("first_coder.jsonl"), _lines("second_coder.jsonl")
    assert len(second) >= 150 and [r["id"] for r in first] == [r["id"] for r in second]
    gold = {r["id"]: set(r["codes"]) for r in _lines("train.jsonl") + _lines("test.jsonl")}
    adjudicated = {r["id"]: set(r["final"]) for r in _lines("adjudication.jsonl")}
    for a, b in zip(first, second):
        if set(a["codes"]) == set(b["codes"]):
            assert gold[a["id"]] == set(a["codes"])
        else:
            assert gold[a["id"]] == adjudicated[a["id"]], a["id"]
