"""Shared pieces of the ``clhs`` commands: the group, options, error handling."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import tqdm

from .. import __version__
from ..errors import ClhsError

EXIT_USER_ERROR = 2

# tqdm's monitor thread would make every progress bar's command a threaded process, whose worker
# processes (import readers, suggestion scorers) must then be spawned and reload what a fork inherits.
tqdm.tqdm.monitor_interval = 0


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USER_ERROR)


def user_errors(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClhsError as exc:
            fail(f"{exc} ({exc.hint})" if exc.hint else str(exc))
        except OSError as exc:
            fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))

    return wrapper


def project_dir_of(value: str | None) -> Path:
    return Path(value or os.environ.get("CLHS_PROJECT") or ".")


project_option = click.option(
    "--project",
    "project_dir",
    metavar="DIR",
    default=None,
    help="Project directory (default: $CLHS_PROJECT, else the current directory).",
)
db_url_option = click.option(
    "--db-url",
    default=None,
    metavar="URL",
    help="SQLAlchemy URL of the project database (default: DIR/project.db).",
)


def open_project(project_dir: str | None, db_url: str | None = None):
    from ..store import Project

    return Project.open(project_dir_of(project_dir), url=db_url)


class _OneLineGroup(click.Group):
    """The ``clhs`` group: a usage mistake (an unknown option, a missing argument, a bad value) is one
    line ``error: ...`` with the help to read, and exit code 2, like every other refusal (click's
    own form is a usage block, a blank line and the error)."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)  # ctx.exit(n) returns n
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "clhs"
            fail(f"{' '.join(exc.format_message().split())} (see '{where} -h')")
        except click.ClickException as exc:
            fail(" ".join(exc.format_message().split()))
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)


@click.group(cls=_OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="clhs")
def main() -> None:
    """clhs-mechanisms: codebook-driven, machine-assisted coding of CLHS mechanisms."""


def hypothesis_test_options(func: Callable) -> Callable:
    """The options every command that tests the hypotheses takes: whose codings, and the case-level
    test's permutations, bootstrap samples and seed (`clhs hypotheses`, `clhs mechanism-map`)."""
    for option in reversed(
        (
            click.option(
                "--coder",
                "coders",
                multiple=True,
                metavar="NAME",
                help="Only these coders' codings (repeatable).",
            ),
            click.option(
                "--permutations",
                type=click.IntRange(1),
                default=1000,
                show_default=True,
                help="Random sign vectors of the case-level test.",
            ),
            click.option(
                "--bootstrap",
                "n_boot",
                type=click.IntRange(0),
                default=1000,
                show_default=True,
                help="Bootstrap samples of cases for the effects' intervals.",
            ),
            click.option("--seed", type=int, default=0, show_default=True),
        )
    ):
        func = option(func)
    return func
