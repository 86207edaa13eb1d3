"""`clhs app`: start the review app on this machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from .common import main, open_project, project_dir_of, project_option, user_errors

ENTRY = Path(__file__).resolve().parent.parent / "app" / "entry.py"


def app_command(project_dir: Path, port: int) -> list[str]:
    """The `streamlit run` command line: bound to 127.0.0.1 with XSRF protection on."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ENTRY),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.enableXsrfProtection",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--",
        "--project",
        str(project_dir.resolve()),
    ]


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@project_option
@user_errors
def app(port: int, project_dir: str | None) -> None:
    """Open the project in the review app at http://127.0.0.1:PORT (Ctrl+C stops it)."""
    with open_project(project_dir):
        pass  # a missing or broken project fails here with a one-line error, not in the browser
    serve(project_dir_of(project_dir), port)


def serve(directory: Path, port: int) -> None:
    """Run the app for ``directory`` in the foreground until Ctrl+C."""
    click.echo(f"review app for {directory} at http://127.0.0.1:{port} (Ctrl+C to stop)")
    try:
        subprocess.run(app_command(directory, port), check=False)
    except KeyboardInterrupt:
        pass
