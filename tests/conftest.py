"""Shared fixtures: a small codebook, small transcripts, a fresh project."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clhs_mechanisms import Project, load_codebook
from clhs_mechanisms.suggest import TrainingSet

DATA = Path(__file__).parent / "data"
REFERENCE = DATA / "reference"

TRANSCRIPT = """Interview with P01

Interviewer: Thanks for joining. Why did you get involved?
P01: Honestly, someone helped us when my son was diagnosed. So I give back now. I want other families to have it easier.
It took a while, though. The registry form was a pain at first.

Interviewer: And now?
P01: Now the dashboard shows every centre. We joined partly for the credit, I admit.
"""


@pytest.fixture(scope="module")
def mini_codebook_path() -> Path:
    return DATA / "mini_codebook.yaml"


@pytest.fixture(scope="module")
def mini_codebook(mini_codebook_path):
    """The small codebook, loaded once per module (a codebook is immutable; suggester tests fit
    many models on it)."""
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


@pytest.fixture(scope="module")
def mini_training(mini_codebook):
    """The small codebook's examples plus 15 labelled parent segments, enough to fit every suggester."""
    rows = [
        ("I give back to other families now.", "mot_help"),
        ("Helping others keeps me going.", "mot_help"),
        ("We pay it forward for the next family.", "mot_help"),
        ("I came so other kids suffer less.", "mot_help"),
        ("Other parents should have it easier than we did.", "mot_help"),
        ("We needed the credit for certification.", "mot_credit"),
        ("It was required by my chair.", "mot_credit"),
        ("The mandate came from the board.", "mot_credit"),
        ("Credit hours made me sign up.", "mot_credit"),
        ("Our department required it for promotion.", "mot_credit"),
        ("The registry form takes two minutes.", "ppi_registry"),
        ("Data go into the registry each visit.", "ppi_registry"),
        ("The dashboard pulls registry data.", "ppi_registry"),
        ("We enter every visit in the registry.", "ppi_registry"),
        ("Registry reports come monthly.", "ppi_registry"),
    ]
    codes = mini_codebook.code_ids
    labels = np.array([[int(c == code) for c in codes] for _, code in rows])
    return TrainingSet.concat(
        TrainingSet.from_codebook(mini_codebook),
        TrainingSet([t for t, _ in rows], labels, codes, ["parent"] * len(rows)),
    )
