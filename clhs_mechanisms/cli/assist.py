"""Assisted-coding commands: suggest, train, queue, explain, decide, evaluate."""

from __future__ import annotations

import json
import sys

import click
from tqdm import tqdm

from .common import main, open_project, project_option, user_errors


class MethodChoice(click.Choice):
    """A ``--method`` choice among the suggester registry's ``names()`` (see
    :mod:`clhs_mechanisms.suggest.registry`), read when a command parses or shows its help: the
    registry lives beside the scientific stack, which the command line loads only when it needs it."""

    def __init__(self, names: str) -> None:
        self.names, self.case_sensitive = names, True

    @property
    def choices(self) -> tuple[str, ...]:
        from ..suggest import registry

        return getattr(registry, self.names)()


@main.command()
@click.option(
    "--documents", "documents", multiple=True, metavar="NAME", help="Only these documents (repeatable)."
)
@click.option("--codes", "codes", multiple=True, metavar="CODE", help="Only these codes (repeatable).")
@click.option("--method", type=MethodChoice("suggesting_methods"), default="ensemble", show_default=True)
@click.option(
    "--floor",
    type=click.FloatRange(0, 1),
    default=None,
    help="Store suggestions scoring at least FLOOR x their code's threshold (default 0.5): lower "
    "finds more of what the model under-scores, with more to review (0 = every segment and code).",
)
@click.option(
    "--workers",
    type=click.IntRange(0),
    default=None,
    help="Scoring processes while suggestions are stored (default: one per CPU for 20,000 "
    "segments or more; 0 = none).",
)
@project_option
@user_errors
def suggest(
    documents: tuple[str, ...],
    codes: tuple[str, ...],
    method: str,
    floor: float | None,
    workers: int | None,
    project_dir: str | None,
) -> None:
    """Score codable segments and store suggestions (never codings) with their evidence."""
    from ..assist import suggest as run
    from ..suggest import FLOOR  # imported here: the scikit-learn stack takes seconds to load

    with open_project(project_dir) as project:
        total = int(project.status()["codable_segments"])
        with tqdm(total=total, unit="seg", desc="suggesting", disable=None, file=sys.stderr) as bar:
            report = run(
                project,
                documents=documents or None,
                codes=codes or None,
                method=method,
                floor=FLOOR if floor is None else floor,
                workers=workers,
                progress=bar.update,
            )
    click.echo(
        f"{report.suggestions} suggestions for {report.segments} segments ({report.method}, "
        f"model {report.model_version})"
    )


@main.command()
@click.option("--method", type=MethodChoice("trained_methods"), default="ensemble", show_default=True)
@click.option(
    "--gold",
    "gold",
    multiple=True,
    metavar="FILE.jsonl",
    help="Gold training files (default: the shipped gold data when the codebook matches).",
)
@project_option
@user_errors
def train(method: str, gold: tuple[str, ...], project_dir: str | None) -> None:
    """Train on the codebook's examples, gold data and every human decision; make it current."""
    from ..assist import train as run

    with open_project(project_dir) as project:
        model = run(project, method=method, gold=list(gold) or None)
    click.echo(f"trained {model.version} on {model.n_training} texts -> {model.path}")


@main.command()
@click.option(
    "--mode",
    type=click.Choice(["uncertain", "code", "document", "confident"]),
    default="uncertain",
    show_default=True,
)
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@click.option("--code", default=None, help="Only suggestions of this code.")
@click.option("--document", default=None, help="Only suggestions in this document.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@project_option
@user_errors
def queue(
    mode: str, limit: int, code: str | None, document: str | None, as_json: bool, project_dir: str | None
) -> None:
    """Pending suggestions in review order."""
    from ..assist import queue as run

    with open_project(project_dir) as project:
        items = run(project, mode=mode, limit=limit, code=code, document=document)
    for row in items.itertuples():
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": row.id,
                        "document": row.document,
                        "start": int(row.start),
                        "end": int(row.end),
                        "code": row.code,
                        "score": round(float(row.score), 4),
                        "uncertainty": round(float(row.uncertainty), 4),
                        "text": row.text,
                        "evidence": row.evidence,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            click.echo(
                f"{row.id}  {row.code:<34} {row.score:.2f}  {row.document}:{row.start}-{row.end}  "
                f"{row.text[:80]!r}"
            )
    if items.empty and not as_json:
        click.echo("no pending suggestions", err=True)


@main.command()
@click.argument("suggestion_id")
@click.option(
    "--similar",
    type=click.IntRange(0, 20),
    default=3,
    show_default=True,
    help="How many similar coded passages to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@project_option
@user_errors
def explain(suggestion_id: str, similar: int, as_json: bool, project_dir: str | None) -> None:
    """Why a suggestion was made: matched cues and terms, similar coded passages, the context's share."""
    from dataclasses import asdict

    from ..explain import explain_suggestion, readable_components

    with open_project(project_dir) as project:
        why = explain_suggestion(project, suggestion_id, k=similar)
    if as_json:
        click.echo(json.dumps(asdict(why), ensure_ascii=False, indent=2))
        return
    click.echo(f"{why.code} on: {why.text}")
    click.echo(
        f"score {why.score:.2f} (threshold {why.threshold:.2f}); "
        + ", ".join(f"{k} {v:.2f}" for k, v in readable_components(why.components).items())
    )
    click.echo(why.context)
    for ev in why.evidence:
        click.echo(f"  evidence: '{ev['text']}' ({ev['why']})")
    if not why.evidence:
        click.echo(
            "  evidence: no cue or material term (the score rests on the whole wording or the context)"
        )
    for ex in why.exemplars:
        click.echo(f"  similar ({ex.similarity:.2f}, {ex.source}): {ex.text}")


@main.command()
@click.option("--gold", "gold", required=True, metavar="FILE.jsonl", help="Gold segments to evaluate on.")
@click.option(
    "--train",
    "train_files",
    multiple=True,
    metavar="FILE.jsonl",
    help="Gold training files, instead of the shipped train.jsonl (used by default with the shipped "
    "codebook); the codebook's examples are always used. Repeatable.",
)
@click.option(
    "--standalone",
    is_flag=True,
    help="Score every gold row as an independent text (no neighbouring segments as context).",
)
@click.option("--method", type=MethodChoice("methods"), default="ensemble", show_default=True)
@click.option(
    "--codebook",
    "codebook_file",
    default=None,
    metavar="FILE",
    help="Codebook (default: the project's, else the shipped one).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@project_option
@user_errors
def evaluate(
    gold: str,
    train_files: tuple[str, ...],
    standalone: bool,
    method: str,
    codebook_file: str | None,
    as_json: bool,
    project_dir: str | None,
) -> None:
    """Train, predict a gold file and report precision, recall, F1 and kappa per code."""
    from ..codebook import load_codebook, shipped_codebook_path
    from ..store import DB_NAME
    from ..suggest import evaluate as run
    from .common import project_dir_of

    if codebook_file:
        codebook = load_codebook(codebook_file)
    elif (project_dir_of(project_dir) / DB_NAME).exists():
        with open_project(project_dir) as project:
            codebook = project.codebook
    else:
        codebook = load_codebook(shipped_codebook_path())
    result = run(gold, codebook, train_paths=list(train_files) or None, method=method, standalone=standalone)
    if result["overlap"]:
        click.echo(
            f"warning: {result['overlap']} of the {result['n_segments']} gold texts are also in the "
            "training data; their figures flatter the model",
            err=True,
        )
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    reading = "standalone (every row alone)" if standalone else "in context"
    click.echo(f"{result['method']} on {result['n_segments']} segments, {reading}")
    click.echo(f"{'code':<36} {'P':>5} {'R':>5} {'F1':>5} {'kappa':>6} {'n':>4}")
    for code, m in sorted(result["per_code"].items()):
        click.echo(
            f"{code:<36} {m['precision']:5.2f} {m['recall']:5.2f} {m['f1']:5.2f} {m['kappa']:6.2f} "
            f"{m['support']:4d}"
        )
    for avg in ("micro", "macro"):
        m = result[avg]
        click.echo(f"{avg:<36} {m['precision']:5.2f} {m['recall']:5.2f} {m['f1']:5.2f}")
    click.echo(f"mean kappa over codes with support: {result['mean_kappa']:.3f}")
