"""Project commands: init, import, status, codebook, demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from tqdm import tqdm

from ..codebook import load_codebook, shipped_codebook_path
from ..codebook_lint import lint_codebook
from ..corpus.formats import FORMATS
from .common import (
    EXIT_USER_ERROR,
    db_url_option,
    main,
    open_project,
    project_dir_of,
    project_option,
    user_errors,
)

# -- project ------------------------------------------------------------------


@main.command()
@click.argument("directory", required=False)
@click.option(
    "--codebook", "codebook_file", metavar="FILE", help="Codebook YAML (default: the shipped CLHS codebook)."
)
@db_url_option
@user_errors
def init(directory: str | None, codebook_file: str | None, db_url: str | None) -> None:
    """Create a project in DIRECTORY (default: $CLHS_PROJECT or the current directory)."""
    from ..store import Project

    codebook = load_codebook(codebook_file or shipped_codebook_path())
    d = project_dir_of(directory)
    project = Project.init(d, codebook, url=db_url)
    project.close()
    click.echo(f"created project {d} with codebook {codebook.id} {codebook.version} ({len(codebook)} codes)")


@main.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--kind",
    type=click.Choice(["interview", "literature"]),
    default=None,
    help="Document kind (default: literature for CSV/XLSX, interview otherwise).",
)
@click.option(
    "--attributes",
    metavar="CSV",
    default=None,
    help="Sidecar CSV of document/case attributes keyed by file name or participant id.",
)
@click.option("--replace", is_flag=True, help="Replace changed documents, re-anchoring their codings.")
@click.option(
    "--interviewer",
    "interviewers",
    multiple=True,
    metavar="NAME",
    help="A speaker whose turns are the interviewer's, not coded (repeatable; besides role labels such as "
    "'Interviewer'). An 'interviewer' column in the attributes sidecar names them per document.",
)
@click.option(
    "--format",
    "layout",
    type=click.Choice(FORMATS),
    default=None,
    help="Read transcripts in this layout instead of detecting it.",
)
@click.option("--text-column", default="text", show_default=True, help="Text column of CSV/XLSX tables.")
@click.option(
    "--max-sentences",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="Sentences per segment in transcripts.",
)
@click.option(
    "--workers",
    type=click.IntRange(0),
    default=None,
    help="Reader processes that read and segment while documents are stored "
    "(default: one per CPU for imports of 4 MB or more; 0 = none).",
)
@project_option
@db_url_option
@user_errors
def import_(
    paths: tuple[str, ...],
    kind: str | None,
    attributes: str | None,
    replace: bool,
    interviewers: tuple[str, ...],
    layout: str | None,
    text_column: str,
    max_sentences: int,
    workers: int | None,
    project_dir: str | None,
    db_url: str | None,
) -> None:
    """Import transcripts (.txt .md .vtt .srt .docx, Whisper .json/.tsv) and literature tables (.csv .xlsx).

    REFI-QDA files (.qdc codebooks, .qdpx projects) go to `clhs import-qdc` / `clhs import-qdpx`.
    """
    from .interop import refi_dispatch, run_refi_import

    refi = refi_dispatch(paths)
    if refi is not None:
        for path in refi:
            run_refi_import(path, project_dir, db_url, kind=kind or "interview", max_sentences=max_sentences)
        return
    from ..ingest import import_paths
    from ..segment import Segmenter

    with open_project(project_dir, db_url) as project:
        counts: dict[str, int] = {}
        words = segments = warned = 0
        results = import_paths(
            project,
            paths,
            kind=kind,
            attributes=attributes,
            replace=replace,
            text_column=text_column,
            segmenter=Segmenter(max_sentences=max_sentences, interviewers=interviewers),
            workers=workers,
            format=layout,
        )
        with tqdm(results, unit="doc", desc="importing", disable=None, file=sys.stderr) as bar:
            for result in bar:
                counts[result.status] = counts.get(result.status, 0) + 1
                words += result.words
                segments += result.segments
                for warning in result.warnings:
                    tqdm.write(f"warning: {result.name}: {warning}", file=sys.stderr)
                warned += bool(result.warnings)
                if result.status == "unchanged":
                    tqdm.write(f"{result.name}: unchanged, already imported (nothing added)", file=sys.stderr)
                if result.status == "replaced":
                    tqdm.write(
                        f"{result.name}: replaced; {result.reanchored} codings re-anchored, "
                        f"{len(result.unanchored)} could not be",
                        file=sys.stderr,
                    )
                    for lost in result.unanchored:
                        tqdm.write(f"  not re-anchored (kept as orphaned): {lost}", file=sys.stderr)
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no documents"
        noticed = f"; {warned} with warnings (shown above, kept with the document)" if warned else ""
        click.echo(f"{summary}; {segments} segments, {words} words{noticed}")


@main.command()
@click.argument("document")
@click.argument("names", nargs=-1, metavar="NAME...")
@click.option("--coder", default="system", show_default=True, help="Who says so (audit log).")
@project_option
@user_errors
def interviewers(document: str, names: tuple[str, ...], coder: str, project_dir: str | None) -> None:
    """Say who interviewed in DOCUMENT: their turns become not codable (none: only role labels)."""
    with open_project(project_dir) as project:
        changed = project.set_interviewers(document, list(names), coder=coder)
    click.echo(
        f"{document}: interviewer {', '.join(names) or '(role labels only)'}; {changed} segments changed"
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@project_option
@db_url_option
@user_errors
def status(as_json: bool, project_dir: str | None, db_url: str | None) -> None:
    """Counts: documents, segments, codes, codings, suggestions."""
    with open_project(project_dir, db_url) as project:
        info = project.status()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        click.echo(f"{key.replace('_', ' '):>20}: {value}")


# -- codebook -----------------------------------------------------------------


@main.group()
def codebook() -> None:
    """Validate, show and load codebooks."""


@codebook.command("validate")
@click.argument("file", required=False)
@click.option("--strict", is_flag=True, help="Treat lint warnings as errors (exit 2).")
@user_errors
def codebook_validate(file: str | None, strict: bool) -> None:
    """Validate FILE (default: the shipped codebook) and list lint warnings."""
    from ..errors import CodebookError

    try:
        cb = load_codebook(file or shipped_codebook_path())
    except CodebookError as exc:
        for message in getattr(exc, "errors", [str(exc)]):
            click.echo(f"error: {message}", err=True)
        sys.exit(EXIT_USER_ERROR)
    warnings = lint_codebook(cb)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(
        f"{cb.path}: valid codebook {cb.id} {cb.version}: {len(cb.domains)} domains, {len(cb)} codes, "
        f"{len(cb.hypotheses)} hypotheses, {len(warnings)} lint warnings"
    )
    if strict and warnings:
        sys.exit(EXIT_USER_ERROR)


@codebook.command("show")
@click.argument("code", required=False)
@click.option(
    "--file", "file", default=None, metavar="FILE", help="Show this codebook file instead of the project's."
)
@project_option
@user_errors
def codebook_show(code: str | None, file: str | None, project_dir: str | None) -> None:
    """The code tree, or everything about one CODE."""
    from ..interop.codebook_doc import code_markdown, code_tree

    if file:
        cb = load_codebook(file)
    else:
        with open_project(project_dir) as project:
            cb = project.codebook
    click.echo(code_markdown(cb.code(code)) if code else code_tree(cb))


@codebook.command("load")
@click.argument("file")
@click.option("--coder", default="system", help="Who loads it (recorded in the audit log).")
@project_option
@user_errors
def codebook_load(file: str, coder: str, project_dir: str | None) -> None:
    """Make FILE the project's current codebook version (old codings are kept)."""
    cb = load_codebook(file)
    with open_project(project_dir) as project:
        change = project.load_codebook(cb, coder=coder)
    click.echo(change.summary())


# -- demo ---------------------------------------------------------------------


def _is_demo(path: Path) -> bool:
    """Whether ``path`` holds a project that ``clhs demo`` built (its name says so)."""
    from ..demo import DEMO_NAME
    from ..store import DB_NAME, Project

    if not (path / DB_NAME).is_file():
        return False
    with Project.open(path) as project:
        return project.get_meta("name") == DEMO_NAME


@main.command()
@click.argument("directory", required=False, default="clhs-demo")
@click.option("--force", is_flag=True, help="Replace DIRECTORY if it already holds a demo project.")
@click.option("--no-train", is_flag=True, help="Skip training and suggestions (faster).")
@click.option("--no-app", is_flag=True, help="Do not start the review app at the end.")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@user_errors
def demo(directory: str, force: bool, no_train: bool, no_app: bool, port: int) -> None:
    """Build a project from the shipped corpus and codebook, run every stage, open the review app."""
    from ..demo import run_demo
    from .app import serve

    path = Path(directory)
    if not force and _is_demo(path):
        click.echo(f"{path} already holds the demo: reopening it (--force rebuilds it)")
    else:
        run_demo(path, force=force, train=not no_train, echo=click.echo).close()
    if no_app:
        click.echo(f"next: clhs app --project {path}")
        return
    serve(path, port)
