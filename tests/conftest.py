"""Shared fixtures: a small codebook, small transcripts, a fresh project."""

from __future__ import annotations

from pathlib import Path

import pytest

from clhs_mechanisms import Project, load_codebook

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared"

TRANSCRIPT = """Interview with P01

Interviewer: Thanks for joining. Why did you get involved?
P01: Honestly, someone helped us when my son was diagnosed. So I give back now. I want other families to have it easier.
It took a while, though. The registry form was a pain at first.

Interviewer: And now?
P01: Now the dashboard shows every centre. We joined partly for the credit, I admit.
"""


@pytest.fixture()
def mini_codebook_path() -> Path:
    return DATA / "mini_codebook.yaml"


@pytest.fixture()
def mini_codebook(mini_codebook_path):
    return load_codebook(mini_codebook_path)


@pytest.fixture()
def transcript_file(tmp_path) -> Path:
    path = tmp_path / "files" / "p01.txt"
    path.parent.mkdir()
    path.write_text(TRANSCRIPT, encoding="utf-8")
    return path


@pytest.fixture()
def project(tmp_path, mini_codebook) -> Project:
    p = Project.init(tmp_path / "proj", mini_codebook)
    yield p
    p.close()
