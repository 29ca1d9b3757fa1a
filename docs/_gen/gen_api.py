"""API reference pages of the documentation site: one generated page per public kexue module.

The pages hold only a mkdocstrings directive (``::: kexue.objectives.flooding``): the reference
is rendered from the docstrings at build time and kept apart from the prose pages, which stay
plain Markdown. A module whose name (or a package of whose path) starts with ``_`` is private
and has no page; links to it go to its package's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ApiModule:
    name: str  # dotted, e.g. "kexue.objectives.flooding"
    is_package: bool

    @property
    def page(self) -> str:
        """Site path of the module's page (relative to docs/)."""
        base = "api/" + self.name.replace(".", "/")
        return base + "/index.md" if self.is_package else base + ".md"

    @property
    def short(self) -> str:
        return self.name.rsplit(".", 1)[-1]


def modules(repo: Path, package: str = "kexue") -> list[ApiModule]:
    """Public modules and packages under ``repo/package``, packages before their modules."""
    found: list[ApiModule] = []
    root = repo / package
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(repo).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts):
            continue
        found.append(ApiModule(".".join(parts), is_package))
    found.sort(key=lambda m: (m.name.split("."), not m.is_package))
    return found


def page_markdown(mod: ApiModule, children: list[ApiModule]) -> str:
    """The generated Markdown of one API page."""
    lines = [f"# `{mod.name}`", ""]
    if mod.is_package:
        lines += [
            f"::: {mod.name}",
            "    options:",
            "      show_root_heading: false",
            "      show_root_toc_entry: false",
            "      members: false",
            "",
        ]
        if children:
            lines += ["## Modules", ""]
            for child in children:
                rel = child.page.removeprefix(mod.page.rsplit("/", 1)[0] + "/")
                lines.append(f"- [`{child.name}`]({rel})")
            lines.append("")
    else:
        lines += [
            f"::: {mod.name}",
            "    options:",
            "      show_root_heading: false",
            "      show_root_toc_entry: false",
            "",
        ]
    return "\n".join(lines)


def children_of(mod: ApiModule, mods: list[ApiModule]) -> list[ApiModule]:
    """Direct submodules and subpackages of a package."""
    depth = mod.name.count(".") + 1
    return [m for m in mods
            if m.name.startswith(mod.name + ".") and m.name.count(".") == depth]


def nav(mods: list[ApiModule], root: str = "kexue") -> list:
    """MkDocs nav entries for the API pages, nested like the packages."""
    by_name = {m.name: m for m in mods}

    def build(pkg: ApiModule) -> list:
        entries: list = [{f"{pkg.name}": pkg.page}]
        for child in children_of(pkg, mods):
            if child.is_package:
                entries.append({child.name: build(child)})
            else:
                entries.append({child.short: child.page})
        return entries

    return build(by_name[root])
