"""Review commands: decide on a suggestion, undo, and list, change, delete or set modifiers of
one's own codings."""

from __future__ import annotations

import click

from ..errors import ClhsError
from .common import main, open_project, project_option, user_errors

coder_option = click.option("--coder", required=True, help="Who acts (recorded in the audit log).")


@main.command()
@click.argument("suggestion_id")
@click.argument("action", type=click.Choice(["accept", "reject"]))
@click.option("--code", default=None, help="Apply this code instead of the suggested one.")
@click.option(
    "--widen",
    type=click.Choice(["segment", "previous", "next"]),
    default="segment",
    show_default=True,
    help="Code the segment, or it joined with the segment before or after.",
)
@coder_option
@project_option
@user_errors
def decide(
    suggestion_id: str, action: str, code: str | None, widen: str, coder: str, project_dir: str | None
) -> None:
    """Accept or reject a suggestion (accept --code OTHER applies another code)."""
    from ..review import ReviewSession

    with open_project(project_dir) as project:
        found = project.suggestions(status=None, ids=[suggestion_id])
        if found.empty:
            raise ClhsError(f"no suggestion '{suggestion_id}'")
        session = ReviewSession(project, coder)
        outcome = session.decide(
            session.item(found.iloc[0]), "recode" if code else action, widen=widen, code=code
        )
        if outcome.error is not None:
            raise outcome.error
    click.echo(f"{outcome.action}: {suggestion_id}" + (f" as {code}" if code else "") + f" by {coder}")


@main.command()
@coder_option
@project_option
@user_errors
def undo(coder: str, project_dir: str | None) -> None:
    """Take back CODER's last decision, coding, change or deletion (repeat to go further back)."""
    with open_project(project_dir) as project:
        undone = project.undo(coder=coder)
    click.echo(f"undone: {undone.message}")


@main.group()
def coding() -> None:
    """List, change, delete or set modifiers of your own codings."""


@coding.command("list")
@coder_option
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@project_option
@user_errors
def list_(coder: str, limit: int, project_dir: str | None) -> None:
    """CODER's latest codings, newest first: id, code, document, span, quote, [modifiers]."""
    from ..review import ReviewSession

    with open_project(project_dir) as project:
        recent = ReviewSession(project, coder).recent(limit)
    for row in recent.itertuples():
        quote = row.quote if len(row.quote) <= 60 else row.quote[:57] + "..."
        mods = " ".join(f"{k}={v}" for k, v in sorted(row.modifiers.items()))
        click.echo(
            f"{row.id}  {row.code}  {row.document} {row.start}-{row.end}  {quote!r}"
            + (f"  [{mods}]" if mods else "")
        )
    if recent.empty:
        click.echo(f"{coder} has no codings")


def _span(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        start, end = (int(part) for part in value.split("-"))
    except ValueError:
        raise ClhsError(f"a span is START-END in characters, e.g. 120-245, not '{value}'") from None
    return start, end


@coding.command("edit")
@click.argument("coding_id")
@click.option("--code", default=None, help="The code to give the coding instead.")
@click.option("--span", default=None, metavar="START-END", help="The span to give the coding instead.")
@coder_option
@project_option
@user_errors
def edit(coding_id: str, code: str | None, span: str | None, coder: str, project_dir: str | None) -> None:
    """Change the code and/or span of one of your codings."""
    with open_project(project_dir) as project:
        project.recode(coding_id, coder=coder, code=code, span=_span(span))
    click.echo(f"changed {coding_id}")


@coding.command("delete")
@click.argument("coding_id")
@coder_option
@project_option
@user_errors
def delete(coding_id: str, coder: str, project_dir: str | None) -> None:
    """Delete one of your codings (kept in the audit log; `clhs undo` restores it)."""
    with open_project(project_dir) as project:
        project.delete_coding(coding_id, coder=coder)
    click.echo(f"deleted {coding_id}")


def _assignments(pairs: tuple[str, ...]) -> dict[str, str | None]:
    """``KEY=VALUE`` arguments as a dict; ``KEY=`` (no value) removes the modifier."""
    out: dict[str, str | None] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise ClhsError(f"a modifier is KEY=VALUE (e.g. valence=negative; KEY= removes it), not '{pair}'")
        out[key.strip()] = value.strip() or None
    return out


@coding.command("set")
@click.argument("coding_id")
@click.argument("modifiers", nargs=-1, required=True, metavar="KEY=VALUE...")
@coder_option
@project_option
@user_errors
def set_(coding_id: str, modifiers: tuple[str, ...], coder: str, project_dir: str | None) -> None:
    """Set modifiers of one of your codings (valence=negative cx=true; KEY= removes one; `clhs undo`
    takes the change back). The codebook's conventions say which modifiers and values a code takes."""
    with open_project(project_dir) as project:
        now = project.set_modifiers(coding_id, _assignments(modifiers), coder=coder)
    shown = ", ".join(f"{k}={v}" for k, v in sorted(now.items())) or "none"
    click.echo(f"modifiers of {coding_id}: {shown}")
