"""Exchange commands: REFI-QDA export and import, codings tables, codebook documents, matrices, training data.

``clhs export codings|qdc|qdpx|codebook|matrix|training`` form the ``export`` group;
``clhs import-qdc`` and ``clhs import-qdpx`` import (``clhs import FILE.qdc`` and
``clhs import FILE.qdpx`` do the same with default options).
"""

from __future__ import annotations

from pathlib import Path

import click

from .common import db_url_option, main, open_project, project_option, user_errors

REFI_SUFFIXES = (".qdc", ".qdpx")


def _echo_report(report, *, err: bool = False) -> None:
    click.echo(report.text().rstrip("\n"), err=err)
    if report.saved_to:
        click.echo(f"report saved to {report.saved_to}", err=err)


def run_refi_import(
    path: str,
    project_dir: str | None,
    db_url: str | None = None,
    *,
    positions: str = "auto",
    line_endings: str = "auto",
    kind: str = "interview",
    max_size_mb: float | None = None,
    max_sentences: int = 3,
    coder: str = "system",
) -> None:
    """Import one ``.qdc`` or ``.qdpx`` file into the project and print the report."""
    from ..errors import ClhsError
    from ..interop.refi_archive import DEFAULT_MAX_BYTES
    from ..interop.refi_import import import_qdc, import_qdpx
    from ..segment import Segmenter

    suffix = Path(path).suffix.lower()
    if suffix not in REFI_SUFFIXES:
        raise ClhsError("not a REFI-QDA file (expected .qdc or .qdpx)", where=path)
    with open_project(project_dir, db_url) as project:
        if suffix == ".qdc":
            report = import_qdc(project, path, coder=coder)
        else:
            limit = int(max_size_mb * 1024 * 1024) if max_size_mb is not None else DEFAULT_MAX_BYTES
            report = import_qdpx(
                project,
                path,
                positions=positions,
                line_endings=line_endings,
                kind=kind,
                max_bytes=limit,
                segmenter=Segmenter(max_sentences=max_sentences),
                coder=coder,
            )
    _echo_report(report)


def refi_dispatch(paths: tuple[str, ...]) -> list[str] | None:
    """The REFI-QDA files among ``paths`` if ``clhs import`` should hand them to the importer.

    ``clhs import FILE.qdpx`` and ``clhs import qdpx FILE`` both count; mixing REFI-QDA
    files with transcripts in one call is refused.
    """
    from ..errors import ClhsError

    args = list(paths)
    if len(args) > 1 and args[0].lower() in ("qdc", "qdpx") and not Path(args[0]).exists():
        args = args[1:]
    refi = [p for p in args if Path(p).suffix.lower() in REFI_SUFFIXES]
    if not refi:
        return None
    if len(refi) != len(args):
        raise ClhsError("import .qdc/.qdpx files on their own, not together with transcripts or tables")
    return refi


# -- import ---------------------------------------------------------------------------

positions_option = click.option(
    "--positions",
    type=click.Choice(["auto", "exclusive", "inclusive"]),
    default="auto",
    show_default=True,
    help="How endPosition is read: one past the last character (exclusive), the last character (inclusive), "
    "or whichever fits the selections (auto).",
)
line_endings_option = click.option(
    "--line-endings",
    type=click.Choice(["auto", "raw", "lf"]),
    default="auto",
    show_default=True,
    help="For text with CRLF line ends: positions count each CRLF as two characters (raw) or one (lf).",
)


@main.command("import-qdpx")
@click.argument("file")
@positions_option
@line_endings_option
@click.option(
    "--kind",
    type=click.Choice(["interview", "literature"]),
    default="interview",
    show_default=True,
    help="Kind of the imported documents (unless the file says).",
)
@click.option(
    "--max-size",
    "max_size_mb",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="MB",
    help="Refuse archives that decompress to more than MB megabytes (default 1024).",
)
@click.option(
    "--max-sentences",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="Sentences per segment when re-segmenting imported text.",
)
@click.option("--coder", default="system", help="Who imports (recorded in the audit log).")
@project_option
@db_url_option
@user_errors
def import_qdpx_cmd(
    file: str,
    positions: str,
    line_endings: str,
    kind: str,
    max_size_mb: float | None,
    max_sentences: int,
    coder: str,
    project_dir: str | None,
    db_url: str | None,
) -> None:
    """Import a REFI-QDA project (.qdpx) from another tool into the project.

    Sources, codes, codings, users, memos, cases and variables come in with their GUIDs,
    authors and dates; new codes are added in a new codebook version. What cannot be
    imported is listed in a report, printed and saved in the project's exchange/ folder.
    """
    run_refi_import(
        file,
        project_dir,
        db_url,
        positions=positions,
        line_endings=line_endings,
        kind=kind,
        max_size_mb=max_size_mb,
        max_sentences=max_sentences,
        coder=coder,
    )


@main.command("import-qdc")
@click.argument("file")
@click.option("--coder", default="system", help="Who imports (recorded in the audit log).")
@project_option
@db_url_option
@user_errors
def import_qdc_cmd(file: str, coder: str, project_dir: str | None, db_url: str | None) -> None:
    """Import a REFI-QDA codebook (.qdc): codes are matched by GUID, code id or name; others are added."""
    run_refi_import(file, project_dir, db_url, coder=coder)


@main.command("import-codings")
@click.argument("file")
@click.option("--coder", required=True, help="Whose codings these are.")
@project_option
@user_errors
def import_codings_cmd(file: str, coder: str, project_dir: str | None) -> None:
    """Add coded segments from JSON Lines ({"document", "start", "end", "codes"}) as CODER's codings."""
    from ..interop.gold import import_codings_jsonl

    with open_project(project_dir) as project:
        n = import_codings_jsonl(project, file, coder=coder)
    click.echo(f"{n} codings added for {coder}")


# -- export ---------------------------------------------------------------------------


@main.group()
def export() -> None:
    """Export codings and the codebook."""


@export.command("codings")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    default=None,
    help="Write to FILE (default: standard output; xlsx needs a FILE).",
)
@project_option
@user_errors
def export_codings(fmt: str, output: str | None, project_dir: str | None) -> None:
    """Codings as a tidy table (one row per coding), ready for R and pandas.

    xlsx: a 'codings' sheet, a 'codes' sheet and one sheet of quotes per code.
    """
    from ..interop.tables import codings_table, write_csv

    if fmt == "xlsx":
        from ..errors import ClhsError
        from ..interop.xlsx import codings_workbook

        if not output:
            raise ClhsError("an Excel export needs --output FILE")
        with open_project(project_dir) as project:
            n = codings_workbook(project, output)
        click.echo(f"wrote {n} codings to {output}", err=True)
        return
    with open_project(project_dir) as project:
        table = codings_table(project)
    if output:
        write_csv(table, output)
        click.echo(f"wrote {len(table)} codings to {output}", err=True)
    else:
        click.echo(table.to_csv(index=False), nl=False)


@export.command("qdc")
@click.argument("file")
@click.option(
    "--codebook",
    "codebook_file",
    metavar="YAML",
    default=None,
    help="Export this codebook file instead of the project's codebook.",
)
@project_option
@user_errors
def export_qdc_cmd(file: str, codebook_file: str | None, project_dir: str | None) -> None:
    """The codebook as a REFI-QDA .qdc file (validated against Codebook.xsd)."""
    from ..codebook import load_codebook
    from ..interop.refi_export import export_qdc

    if codebook_file:
        report = export_qdc(load_codebook(codebook_file), file)
    else:
        with open_project(project_dir) as project:
            report = export_qdc(project, file)
    _echo_report(report)


@export.command("qdpx")
@click.argument("file")
@project_option
@user_errors
def export_qdpx_cmd(file: str, project_dir: str | None) -> None:
    """The project as a REFI-QDA .qdpx archive (validated against Project.xsd)."""
    from ..interop.refi_export import export_qdpx

    with open_project(project_dir) as project:
        report = export_qdpx(project, file)
    _echo_report(report)


@export.command("codebook")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True)
@click.option(
    "--output", "-o", metavar="FILE", default=None, help="Write to FILE (default: standard output)."
)
@click.option(
    "--codebook",
    "codebook_file",
    metavar="YAML",
    default=None,
    help="Render this codebook file instead of the project's codebook.",
)
@project_option
@user_errors
def export_codebook_cmd(
    fmt: str, output: str | None, codebook_file: str | None, project_dir: str | None
) -> None:
    """The codebook as a Markdown or HTML document for a paper's appendix."""
    from ..codebook import load_codebook
    from ..interop.codebook_doc import codebook_html, codebook_markdown
    from ..interop.files import write_text_atomic

    if codebook_file:
        cb = load_codebook(codebook_file)
    else:
        with open_project(project_dir) as project:
            cb = project.codebook
    text = codebook_markdown(cb) if fmt == "md" else codebook_html(cb)
    if output:
        write_text_atomic(output, text)
        click.echo(f"wrote codebook {cb.id} {cb.version} ({len(cb)} codes) to {output}", err=True)
    else:
        click.echo(text, nl=False)


@export.command("matrix")
@click.option(
    "--by",
    "by",
    default="document",
    show_default=True,
    metavar="document|ATTRIBUTE",
    help="Columns: 'document', or the name of a document attribute (e.g. role, site).",
)
@click.option(
    "--count",
    type=click.Choice(["codings", "segments", "documents"]),
    default="codings",
    show_default=True,
    help="What a cell counts.",
)
@click.option("--coder", default=None, help="Only this coder's codings.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option(
    "--output", "-o", metavar="FILE", default=None, help="Write to FILE (default: standard output, CSV)."
)
@project_option
@user_errors
def export_matrix_cmd(
    by: str, count: str, coder: str | None, fmt: str, output: str | None, project_dir: str | None
) -> None:
    """A code-by-document or code-by-attribute matrix of counts."""
    from ..errors import ClhsError
    from ..interop.matrix import code_by_attribute, code_by_document
    from ..interop.tables import write_csv
    from ..interop.xlsx import write_tables_xlsx

    with open_project(project_dir) as project:
        table = (
            code_by_document(project, count=count, coder=coder)
            if by == "document"
            else code_by_attribute(project, by, count=count, coder=coder)
        )
    frame = table.reset_index()
    if fmt == "xlsx":
        if not output:
            raise ClhsError("an Excel matrix needs --output FILE")
        write_tables_xlsx({f"code by {by}"[:31]: frame}, output)
    elif output:
        write_csv(frame, output)
    else:
        click.echo(frame.to_csv(index=False), nl=False)
        return
    click.echo(
        f"wrote a {table.shape[0]} x {table.shape[1]} matrix of {count} (code by {by}) to {output}", err=True
    )


@export.command("training")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "spacy"]), default="jsonl", show_default=True)
@click.option("--output", "-o", metavar="FILE", required=True, help="Write to FILE (.jsonl or .spacy).")
@click.option(
    "--include-unreviewed",
    is_flag=True,
    help="Also write segments nobody has coded or decided on, as all-negative examples.",
)
@project_option
@user_errors
def export_training_cmd(fmt: str, output: str, include_unreviewed: bool, project_dir: str | None) -> None:
    """Human-coded segments for training a model elsewhere: JSON Lines or a spaCy DocBin with doc.cats."""
    from ..interop.training import write_training

    with open_project(project_dir) as project:
        n = write_training(project, output, fmt=fmt, include_unreviewed=include_unreviewed)
    click.echo(f"wrote {n} examples to {output}", err=True)
