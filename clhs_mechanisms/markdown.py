"""Text from users and files shown through Markdown: as typed, never as markup.

A transcript, memo, codebook field or coder name may hold ``![x](https://...)``, ``[c](javascript:...)``
or ``<img ...>``; rendered as Markdown, the first fetches from outside and the second is a link. Every such
string is escaped before it reaches a Markdown renderer (the app's pages, exported Markdown).
"""

from __future__ import annotations

import re

# what can start markup: links and images ([ ] ( ) !), HTML (< > &), emphasis and code (* _ `), headings,
# tables and strikethrough (# | ~), Streamlit's math and emoji shortcodes ($ :), and the escape itself
_CHARS = r"\\`*_\[\]()#!|~<>$:&"
_SPECIAL = re.compile(f"([{_CHARS}])")
_MARKUP = re.compile(f"[{_CHARS}\"']")  # and the quotes, inside HTML attributes
_REFERENCE = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;"}  # as html.escape writes them


def escape_markdown(text: str) -> str:
    """``text`` with every Markdown and HTML character backslash-escaped (for Markdown text)."""
    return _SPECIAL.sub(r"\\\1", str(text))


def escape_html(text: str) -> str:
    """``text`` for an HTML fragment that a Markdown renderer will also read: every HTML and Markdown
    character as a character reference, which neither HTML nor any Markdown rule reads as markup."""
    return _MARKUP.sub(lambda m: _REFERENCE.get(m.group()) or f"&#{ord(m.group())};", str(text))
