"""`clhs demo`: a project built from the shipped corpus and codebook, every stage run."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Callable

from .codebook import load_codebook, shipped_codebook_path
from .errors import ClhsError
from .ingest import import_paths
from .store import DB_NAME, Project


def shipped_corpus_path() -> Path:
    """The sample corpus shipped with the package (interviews/, literature/, gold/)."""
    path = Path(str(resources.files("clhs_mechanisms").joinpath("data", "corpus")))
    if not (path / "interviews").is_dir():
        raise ClhsError("the shipped corpus is missing; install from a source checkout", where=str(path))
    return path


def _fresh(directory: Path, force: bool) -> None:
    if not directory.exists() or not any(directory.iterdir()):
        return
    if not (directory / DB_NAME).exists():
        raise ClhsError("exists and is not empty; choose another directory", where=str(directory))
    if not force:
        raise ClhsError("already holds a project; use --force to rebuild the demo there", where=str(directory))
    shutil.rmtree(directory)


def run_demo(directory: Path, *, force: bool = False, echo: Callable[[str], None] = print) -> Project:
    """Build the demo project in ``directory`` and print what each stage did."""
    corpus = shipped_corpus_path()
    _fresh(directory, force)
    codebook = load_codebook(shipped_codebook_path())
    project = Project.init(directory, codebook, name="CLHS mechanisms demo")
    echo(f"1. codebook: {codebook.title} {codebook.version}: {len(codebook.domains)} domains, "
         f"{len(codebook)} codes, {len(codebook.hypotheses)} hypotheses")
    for label in ("interview", "literature"):
        results = list(import_paths(project, [corpus / f"{label}s" if label == "interview" else corpus / label]))
        echo(f"2. imported {len(results)} {label} documents: {sum(r.segments for r in results)} segments, "
             f"{sum(r.words for r in results)} words")
    info = project.status()
    echo(f"3. project {directory}: {info['documents']} documents, {info['cases']} cases, "
         f"{info['segments']} segments ({info['codable_segments']} codable), {info['codings']} codings")
    echo(f"next: clhs status --project {directory}")
    return project
