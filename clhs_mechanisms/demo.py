"""`clhs demo`: a project built from the shipped corpus and codebook, every stage run."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from .codebook import load_codebook, shipped_codebook_path
from .errors import ClhsError
from .ingest import import_paths
from .shipped import shipped_corpus_path
from .store import DB_NAME, Project

GOLD_CODER = "gold"


DEMO_NAME = "CLHS mechanisms demo"  # the project name by which `clhs demo` knows its own demo again


def _fresh(directory: Path, force: bool) -> None:
    if not directory.exists() or not any(directory.iterdir()):
        return
    if not (directory / DB_NAME).exists():
        raise ClhsError("exists and is not empty; choose another directory", where=str(directory))
    if not force:
        raise ClhsError(
            "already holds a project; use --force to rebuild the demo there", where=str(directory)
        )
    shutil.rmtree(directory)


# The interviews that were double-coded whole (the literature tables were only partly double-coded).
DOUBLE_CODED = frozenset(
    {
        "int05_qilead_ibd.txt",
        "int14_community_manager_cf.txt",
        "int19_parent_scd.txt",
        "int30_parent_epilepsy.txt",
        "int41_patient_lantern.txt",
        "int52_parent_juniper.txt",
        "int63_parent_t1d.txt",
        "int74_patient_mh.txt",
    }
)


def run_demo(
    directory: Path, *, force: bool = False, train: bool = True, echo: Callable[[str], None] = print
) -> Project:
    """Build the demo project in ``directory`` and print what each stage did.

    Stages: codebook; import of the interviews and literature; the gold codings of the
    training documents (coder ``gold``) and the blind double coding (``coder-1``,
    ``coder-2``); a model trained on the codebook and the gold training data; machine
    suggestions for the held-out documents, which nobody has coded; co-occurrence,
    hypotheses and agreement on what is coded.
    """
    corpus = shipped_corpus_path()
    _fresh(directory, force)
    codebook = load_codebook(shipped_codebook_path())
    project = Project.init(directory, codebook, name=DEMO_NAME)
    echo(
        f"1. codebook: {codebook.title} {codebook.version}: {len(codebook.domains)} domains, "
        f"{len(codebook)} codes, {len(codebook.hypotheses)} hypotheses"
    )
    for label, sub in (("interview", "interviews"), ("literature", "literature")):
        results = list(import_paths(project, [corpus / sub]))
        echo(
            f"2. imported {len(results)} {label} documents: {sum(r.segments for r in results)} segments, "
            f"{sum(r.words for r in results)} words"
        )
    _import_gold(project, corpus / "gold", echo)
    if train:
        _assist(project, echo)
    _analyse(project, codebook, echo)
    info = project.status()
    echo(
        f"project {directory}: {info['documents']} documents, {info['segments']} segments, "
        f"{info['codings']} codings, {info['pending_suggestions']} suggestions to review"
    )
    return project


def _import_gold(project: Project, gold: Path, echo: Callable[[str], None]) -> None:
    """The gold codings of the training documents, and the blind double coding of whole interviews, with
    the modifiers the gold rows carry."""
    from .interop.gold import import_codings_jsonl

    n_gold = import_codings_jsonl(project, gold / "train.jsonl", coder=GOLD_CODER)
    first, second = gold / "first_coder.jsonl", gold / "second_coder.jsonl"
    n_1 = import_codings_jsonl(project, first, coder="coder-1", documents=DOUBLE_CODED)
    n_2 = import_codings_jsonl(project, second, coder="coder-2", documents=DOUBLE_CODED)
    n_mod = len(project.coding_modifiers())
    echo(
        f"3. codings: {n_gold} gold codings of the training documents; blind double coding of "
        f"{len(DOUBLE_CODED)} whole interviews: {n_1} by coder-1, {n_2} by coder-2; {n_mod} codings carry "
        "modifiers (valence, originator, engagement level, cx)"
    )


def _assist(project: Project, echo: Callable[[str], None]) -> None:
    """Train on the codebook and gold data; suggest for the documents nobody has coded."""
    from .assist import suggest, train

    model = train(project)
    coded = set(project.codings()["document"])
    held_out = [d for d in project.documents()["name"] if d not in coded]
    report = suggest(project, documents=held_out)
    echo(
        f"4. assisted coding: model {model.version} trained on {model.n_training} texts; "
        f"{report.suggestions} suggestions for {report.segments} segments of {len(held_out)} "
        "uncoded documents"
    )


def _analyse(project: Project, codebook, echo: Callable[[str], None]) -> None:
    """Co-occurrence and hypotheses on the gold codings; agreement between the two blind coders."""
    from .analysis import ALL_CODES, Frames, agreement, cooccurrence, evaluate_hypotheses, rating_table

    frames = Frames.from_project(project, coders=[GOLD_CODER])
    table = cooccurrence(frames.codings, frames.segments, frames.documents, unit="segment")
    top = table.sort_values("jaccard", ascending=False).head(3)
    pairs = "; ".join(
        f"{r.code_a} + {r.code_b} (Jaccard {r.jaccard:.2f}, n12={r.n12})" for r in top.itertuples()
    )
    echo(f"5. co-occurrence (segments, gold): strongest pairs: {pairs}")
    verdicts = evaluate_hypotheses(
        frames.codings, frames.segments, frames.documents, codebook.hypotheses, codebook=codebook
    )["verdict"].value_counts()
    echo("6. hypotheses H1-H10: " + ", ".join(f"{n} {v}" for v, n in verdicts.items()))
    both = Frames.from_project(project, coders=["coder-1", "coder-2"])
    kappa = agreement(
        rating_table(both.codings, both.segments, coders=["coder-1", "coder-2"]),
        n_boot=0,
        statistics=["cohen_kappa"],
    )
    pooled = kappa[kappa["code"] == ALL_CODES]["value"].iloc[0]
    echo(f"7. agreement coder-1 vs coder-2 (segments, pooled over codes): Cohen's kappa {pooled:.2f}")
