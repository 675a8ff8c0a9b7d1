"""The command line's Rich console, which cannot be made to print a hyperlink or an emoji.

Scenario files are written by others: a party id such as ``[link=http://evil.example]DPRK[/link]``
or a note with ``:x:`` would otherwise become a hidden terminal hyperlink or an emoji wherever
a renderer puts it inside a markup string. :class:`SafeConsole` renders every string through
an allow-list: only the plain style tags detente's own output uses (``[bold]``, ``[red]`` ...)
are markup; any other tag (``[link=...]``, ``[conceal]``, a colour) is printed as the text it
is; emoji codes are never replaced; markup that does not parse is printed as plain text.
This holds for every string the console renders (tables, panels, ``print``), whoever built it.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.errors import MarkupError
from rich.text import Text

__all__ = ["ALLOWED_TAGS", "SafeConsole", "neutralise"]

#: Style tags allowed as markup (each word of a tag must be one of these).
ALLOWED_TAGS = frozenset({"bold", "dim", "italic", "underline", "red", "green", "yellow", "cyan", "magenta", "blue"})

#: Rich's own tag pattern: optional backslashes, then ``[`` + a tag starting with a-z, #, / or @.
_TAG = re.compile(r"(\\*)\[([a-z#/@][^[]*?)]")


def _allowed(tag: str) -> bool:
    body = tag[1:] if tag.startswith("/") else tag
    if tag.startswith("/") and not body:
        return True  # [/] closes the last style
    return bool(body) and all(word in ALLOWED_TAGS for word in body.split())


def neutralise(text: str) -> str:
    """``text`` with every markup tag outside :data:`ALLOWED_TAGS` escaped (shown literally)."""

    def fix(match: re.Match[str]) -> str:
        slashes, tag = match.group(1), match.group(2)
        if len(slashes) % 2 or _allowed(tag):  # already escaped, or one of ours
            return match.group(0)
        return f"{slashes}\\[{tag}]"

    return _TAG.sub(fix, text)


class SafeConsole(Console):
    """A :class:`rich.console.Console` whose markup is limited to plain styles, with no emoji."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["emoji"] = False
        super().__init__(**kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs["emoji"] = False
        markup = kwargs.get("markup")
        if markup is None:
            markup = self._markup
        if not markup:
            return super().render_str(text, **kwargs)
        kwargs["markup"] = True
        try:
            return super().render_str(neutralise(text), **kwargs)
        except MarkupError:  # e.g. a stray closing tag in a name: show the text as it is
            kwargs["markup"] = False
            return super().render_str(text, **kwargs)
