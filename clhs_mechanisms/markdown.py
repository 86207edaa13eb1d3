"""Text from users and files shown through Markdown: as typed, never as markup.

A transcript, memo, codebook field or coder name may hold ``![x](https://...)``, ``[c](javascript:...)``
or ``<img ...>``; rendered as Markdown, the first fetches from outside and the second is a link. Every such
string is escaped before it reaches a Markdown renderer (the app's pages, exported Markdown).
"""

from __future__ import annotations

import html
import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:&])")


def escape_markdown(text: str) -> str:
    """``text`` with every Markdown and HTML character backslash-escaped (for Markdown text)."""
    return _SPECIAL.sub(r"\\\1", str(text))


def escape_html(text: str) -> str:
    """``text`` for an HTML fragment that a Markdown renderer will also read: HTML-escaped, and every
    Markdown character as a numeric character reference, which no Markdown rule matches."""
    escaped = html.escape(str(text), quote=True)
    return re.sub(r"[\\`*_{}\[\]()#+\-.!|~$:]", lambda m: f"&#{ord(m.group())};", escaped)
