"""The sample data shipped with the package: the corpus (interviews, literature, gold files) and
the gold training data that goes with the shipped codebook."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .codebook import Codebook, load_codebook, shipped_codebook_path
from .errors import ClhsError


def shipped_corpus_path() -> Path:
    """The sample corpus shipped with the package (interviews/, literature/, gold/)."""
    path = Path(str(resources.files("clhs_mechanisms").joinpath("data", "corpus")))
    if not (path / "interviews").is_dir():
        raise ClhsError("the shipped corpus is missing; install from a source checkout", where=str(path))
    return path


def shipped_gold(codebook: Codebook) -> list[Path]:
    """The shipped gold training file, when ``codebook`` is the shipped codebook (same id): its
    code ids are the ones the file uses. Empty for any other codebook."""
    try:
        shipped = load_codebook(shipped_codebook_path())
        train = shipped_corpus_path() / "gold" / "train.jsonl"
    except ClhsError:
        return []
    return [train] if codebook.id == shipped.id and train.is_file() else []
