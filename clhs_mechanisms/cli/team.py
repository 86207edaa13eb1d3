"""Team commands: coders who sign in to the app (`clhs app --team`), and project settings."""

from __future__ import annotations

import sys

import click

from ..errors import ClhsError
from .common import main, open_project, project_option, user_errors


@main.group()
def coder() -> None:
    """Coders who sign in to the app in team mode."""


@coder.command("add")
@click.argument("name")
@click.option("--adjudicator", is_flag=True, help="May see everyone's codings in a blind project.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)
@project_option
@user_errors
def add(name: str, adjudicator: bool, password_stdin: bool, project_dir: str | None) -> None:
    """Add coder NAME with a password (asked for twice), or set a known coder's password and role."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    with open_project(project_dir) as project:
        project.add_coder(name, password, adjudicator=adjudicator)
    click.echo(f"{name}: can sign in" + (" (adjudicator)" if adjudicator else ""))


@coder.command("list")
@project_option
@user_errors
def list_(project_dir: str | None) -> None:
    """Every human coder, their role and whether they can sign in."""
    with open_project(project_dir) as project:
        people = project.coders().query("kind == 'human'")
    for row in people.itertuples():
        click.echo(f"{row.name}\t{row.role}\t{'can sign in' if row.password_hash else 'no password'}")


@main.command()
@click.argument("key", required=False)
@click.argument("value", required=False)
@project_option
@user_errors
def settings(key: str | None, value: str | None, project_dir: str | None) -> None:
    """Show the project settings, or set KEY to VALUE (e.g. `clhs settings blind on`)."""
    with open_project(project_dir) as project:
        if key is None:
            for name, current in project.settings().items():
                click.echo(f"{name}\t{current}")
            return
        if value is None:
            raise ClhsError(f"give a value: clhs settings {key} VALUE")
        project.set_setting(key, value)
    click.echo(f"{key} = {value}")
