"""`clhs app`: start the review app on this machine."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import click

from ..errors import ClhsError
from .common import main, open_project, project_dir_of, project_option, user_errors

ENTRY = Path(__file__).resolve().parent.parent / "app" / "entry.py"


def app_command(project_dir: Path, port: int, *, team: bool = False) -> list[str]:
    """The `streamlit run` command line: bound to 127.0.0.1 with XSRF protection on, the toolbar
    without Streamlit's Deploy button (transcripts are confidential: nothing offers to publish)."""
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
        "--client.toolbarMode",
        "minimal",
        "--",
        "--project",
        str(project_dir.resolve()),
        *(["--team"] if team else []),
    ]


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--team", is_flag=True, help="Coders sign in with the password set by `clhs coder add`.")
@project_option
@user_errors
def app(port: int, team: bool, project_dir: str | None) -> None:
    """Open the project in the review app at http://127.0.0.1:PORT (Ctrl+C stops it)."""
    with open_project(project_dir) as project:
        if team and not project.coders()["password_hash"].notna().any():
            raise ClhsError("team mode needs coders who can sign in", hint="clhs coder add NAME")
    serve(project_dir_of(project_dir), port, team=team)


def serve(directory: Path, port: int, *, team: bool = False) -> None:
    """Run the app for ``directory`` in the foreground until Ctrl+C or SIGTERM, either of which stops
    the Streamlit server too (before, SIGTERM left it running)."""
    click.echo(f"review app for {directory} at http://127.0.0.1:{port} (Ctrl+C to stop)")
    server = subprocess.Popen(app_command(directory, port, team=team))

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
