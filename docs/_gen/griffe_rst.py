"""Griffe extension for the API pages: kexue docstrings use a few reStructuredText roles; the
site renders docstrings as Markdown, so they are rewritten when a docstring is loaded.

- ``:math:`x``` becomes ``$x$`` and a ``.. math:: ...`` block (with its indented continuation
  lines) becomes a ``$$ ... $$`` block: both are then rendered by KaTeX at build time;
- ``:func:`f```, ``:class:`C``` and the other cross-reference roles become code spans;
- a line ending in ``::`` (an RST literal block follows) ends in ``:``.

The library's docstrings are not changed; only what the site shows.
"""

from __future__ import annotations

import re

from griffe import Extension

_INLINE_MATH = re.compile(r":math:`([^`]+)`")
_ROLE = re.compile(r":(?:func|class|meth|attr|mod|data|obj|exc|const):`~?\.?([^`]+)`")
_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<first>.*)$")
_LITERAL = re.compile(r"(\S)::$")  # "Example::" introduces an (indented) literal block


def rst_to_markdown(text: str) -> str:
    """The docstring ``text`` with RST math and cross-reference roles as Markdown."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _BLOCK.match(lines[i])
        if not m:
            line = lines[i]
            out.append(line[:-2] if line.strip() == "::" else _LITERAL.sub(r"\1:", line))
            i += 1
            continue
        indent = m.group("indent")
        body = [m.group("first").strip()] if m.group("first").strip() else []
        i += 1
        while i < len(lines) and lines[i].strip() and \
                len(lines[i]) - len(lines[i].lstrip()) > len(indent):
            body.append(lines[i].strip())
            i += 1
        out += ["", f"{indent}$$", *(f"{indent}{b}" for b in body), f"{indent}$$", ""]
    text = "\n".join(out)
    text = _INLINE_MATH.sub(lambda m: f"${m.group(1).strip()}$", text)
    return _ROLE.sub(r"`\1`", text)


class RstMath(Extension):
    """Rewrite each docstring once, when griffe loads its object."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
