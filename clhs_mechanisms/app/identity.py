"""Who is coding: a name chosen in the sidebar, or, in team mode (``clhs app --team``), a coder who
signs in with the password set by ``clhs coder add``. Either is remembered across page reloads by a
parameter in the address: the chosen name, or in team mode a session token signed with a key kept in
the project directory (so a token cannot be forged or moved to another project)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import sys
import time
from pathlib import Path

import streamlit as st

from ..markdown import escape_markdown
from ..store import Project

KEY_FILE = "session.key"
TOKEN_DAYS = 7
SLOW_AFTER = 3  # failed sign-ins (per browser session or per name) before each answer waits
_failures: dict[str, int] = {}  # per name, across browser sessions of this server


def team_mode() -> bool:
    """``clhs app --team`` (the script's ``--team`` argument) or ``CLHS_TEAM=1``."""
    return "--team" in sys.argv[1:] or os.environ.get("CLHS_TEAM") == "1"


def _key(directory: Path) -> bytes:
    """The project's session key, made on first use (readable by its owner only)."""
    path = directory / KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


def make_token(directory: Path, name: str, *, now: float | None = None) -> str:
    """A signed token naming ``name`` until ``TOKEN_DAYS`` from ``now``."""
    expires = int((now or time.time()) + TOKEN_DAYS * 86400)
    body = base64.urlsafe_b64encode(f"{name}\n{expires}".encode()).decode()
    signature = hmac.new(_key(directory), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{signature}"


def read_token(directory: Path, token: str | None, *, now: float | None = None) -> str | None:
    """The coder a valid, unexpired token names; None for anything else."""
    if not token or "." not in token:
        return None
    body, signature = token.rsplit(".", 1)
    expected = hmac.new(_key(directory), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        name, expires = base64.urlsafe_b64decode(body.encode()).decode().split("\n")
        return name if int(expires) > (now or time.time()) else None
    except ValueError:
        return None


def sign_in(project: Project, name: str, password: str) -> bool:
    """Check a sign-in; after repeated failures each answer waits (the same for every name, so the
    delay says nothing about whether the name exists)."""
    name = name.strip()
    failures = max(st.session_state.get("sign_in_failures", 0), _failures.get(name, 0))
    if failures >= SLOW_AFTER:
        time.sleep(min(2 ** (failures - SLOW_AFTER), 8))
    if project.verify_coder(name, password):
        _failures.pop(name, None)
        st.session_state["sign_in_failures"] = 0
        st.session_state["coder"] = name
        st.query_params["session"] = make_token(project.directory, name)
        return True
    _failures[name] = _failures.get(name, 0) + 1
    st.session_state["sign_in_failures"] = st.session_state.get("sign_in_failures", 0) + 1
    return False


def sign_out() -> None:
    st.session_state.pop("coder", None)
    st.query_params.pop("session", None)
    st.query_params.pop("coder", None)


def sidebar(project: Project) -> None:
    """The identity part of the sidebar: restore the coder from the address, then sign-in (team
    mode) or the name chooser."""
    if team_mode():
        if not st.session_state.get("coder"):
            name = read_token(project.directory, st.query_params.get("session"))
            if name and project.coder_role(name):
                st.session_state["coder"] = name
        if st.session_state.get("coder"):
            st.success(f"Signed in as **{escape_markdown(st.session_state['coder'])}**")
            st.button("Sign out", on_click=sign_out)
            return
        with st.form("sign_in"):
            name = st.text_input("Name", key="sign_in_name")
            password = st.text_input("Password", type="password", key="sign_in_password")
            if st.form_submit_button("Sign in"):
                if sign_in(project, name, password):
                    st.rerun()
                st.error("Name or password is wrong.")
        return
    known = sorted(project.coders().query("kind == 'human'")["name"])
    remembered = st.query_params.get("coder")
    if not st.session_state.get("coder") and remembered in known:
        st.session_state["coder"] = remembered
    current = st.session_state.get("coder")
    choice = st.selectbox(
        "Coder",
        ["(new coder)", *known],
        index=known.index(current) + 1 if current in known else None,
        key="coder_choice",
        placeholder="Who are you?",
    )
    if choice == "(new coder)":
        name = st.text_input("Your name or initials", key="coder_new").strip()
        st.session_state["coder"] = name or None
    elif choice:
        st.session_state["coder"] = choice
    if st.session_state.get("coder"):
        st.query_params["coder"] = st.session_state["coder"]
        st.success(f"Coding as **{escape_markdown(st.session_state['coder'])}**")
