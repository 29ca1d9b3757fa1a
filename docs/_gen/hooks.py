"""MkDocs hooks of the kexue documentation site (``mkdocs.yml``: ``hooks:``).

What they do, in build order:

- ``on_config``: the navigation, built from the files present: every ``docs/*.md`` guide and
  every page in another folder of ``docs/`` (so a page another area adds appears without
  editing this), the article pages under
  ``docs/articles/<area>/`` grouped by area, the generated archive, results and API pages.
- ``on_files``: adds the generated pages (``archive.md``, ``results.md``, ``api/...``) and
  KaTeX's stylesheet and fonts; checks ``articles.toml`` and every ``results/*.jsonl`` record
  (a bad record or a missing article page fails the build).
- ``on_page_markdown``: expands ``<!-- kexue:results article=ID[,ID...] -->`` into the table of
  those articles' result records, and turns links to repository files outside ``docs/`` into links
  to their API page (``kexue/**.py``) or into plain text (scripts, data); a link to a file
  that does not exist fails the build.
- ``on_page_content``: renders every formula with KaTeX at build time (``$...$``,
  ``$$...$$``, ``\\begin{equation}``; docstrings' RST math is turned into these by
  ``griffe_rst.py``). A formula KaTeX cannot parse fails the build.
"""

from __future__ import annotations

import html
import os
import re
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import gen_api  # noqa: E402
import gen_archive  # noqa: E402
import gen_results  # noqa: E402
import katex  # noqa: E402

REPO = HERE.parents[1]
DOCS = REPO / "docs"
GENERATED = ("archive.md", "results.md")
SPECIAL = ("index.md", "contributing.md")
# Material's offline plugin loads this shim (search from file://) from a CDN unless a polyfill
# whose URL names iframe-worker is configured: mkdocs.yml points extra.polyfills here.
IFRAME_WORKER = "assets/iframe-worker/shim.js"
# Guides in reading order; any other docs/*.md follows alphabetically.
GUIDE_ORDER = ("bert4keras", "models", "decoding", "optim", "objectives", "text", "shuffle",
               "training", "sky", "design", "testing", "benchmarks", "benchmarks_models")
AREA_TITLES = {
    "models": "Models", "optimizers": "Optimizers", "objectives": "Objectives",
    "decoding": "Decoding", "text": "Text", "data": "Data", "recipes": "Recipes",
    "training": "Training", "sky": "Sky", "site": "Site",
}


class _Build:
    """What one build shares between hooks (reset by ``on_config``)."""

    def __init__(self) -> None:
        self.renderer: katex.Renderer | None = None
        self.records: list[gen_results.Record] = []
        self.api: list[gen_api.ApiModule] = []
        self.api_page_of: dict[str, str] = {}


_build = _Build()


# --- navigation ---------------------------------------------------------------------------


def _guides() -> list[str]:
    names = [p.name for p in DOCS.glob("*.md") if p.name not in SPECIAL]
    clash = [n for n in names if n in GENERATED]
    if clash:
        raise PluginError(f"docs/{clash[0]} is generated at build time; remove the file")
    order = {f"{n}.md": i for i, n in enumerate(GUIDE_ORDER)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def _other_pages() -> list:
    """Pages in other folders of docs/ (not articles/, not generated): one nav group each."""
    groups = []
    for folder in sorted(p for p in DOCS.iterdir() if p.is_dir()):
        if folder.name in ("articles", "api", "_gen", "img", "assets") or \
                folder.name.startswith("."):
            continue
        pages = sorted(q.relative_to(DOCS).as_posix() for q in folder.rglob("*.md"))
        if pages:
            groups.append({folder.name: pages})
    return groups


def _article_key(path: Path) -> tuple[int, str]:
    m = re.match(r"(\d+)", path.name)
    return (int(m.group(1)) if m else 0, path.name)


def _articles_nav() -> list:
    groups = []
    for area, title in AREA_TITLES.items():
        folder = DOCS / "articles" / area
        pages = sorted(folder.glob("*.md"), key=_article_key) if folder.is_dir() else []
        if pages:
            groups.append({title: [p.relative_to(DOCS).as_posix() for p in pages]})
    unknown = sorted(p.name for p in (DOCS / "articles").iterdir()
                     if p.is_dir() and p.name not in AREA_TITLES) \
        if (DOCS / "articles").is_dir() else []
    if unknown:
        raise PluginError(f"docs/articles/{unknown[0]}/ is not an area: {sorted(AREA_TITLES)}")
    return groups


def on_config(config):
    global _build
    _build = _Build()
    _build.api = gen_api.modules(REPO)
    _build.api_page_of = {m.name: m.page for m in _build.api}
    config["nav"] = [
        {"Home": "index.md"},
        {"Guides": [*_guides(), *_other_pages()]},
        {"Articles": _articles_nav()},
        {"Archive": "archive.md"},
        {"Results": "results.md"},
        {"API reference": gen_api.nav(_build.api)},
        {"Contributing": "contributing.md"},
    ]
    return config


# --- generated files ----------------------------------------------------------------------


def on_files(files: Files, config) -> Files:
    try:
        _build.records = gen_results.load_records(REPO)
        articles = gen_archive.load_articles(HERE / "articles.toml", DOCS)
    except (gen_results.RecordError, gen_archive.ArchiveError) as exc:
        raise PluginError(str(exc)) from None
    cited = gen_archive.citations(REPO)
    api_links = {m: os.path.relpath(p, ".") for m, p in _build.api_page_of.items()}
    files.append(File.generated(config, "archive.md",
                                content=gen_archive.archive_page(articles, cited, api_links)))
    files.append(File.generated(config, "results.md",
                                content=gen_results.results_page(_build.records)))
    for mod in _build.api:
        children = gen_api.children_of(mod, _build.api) if mod.is_package else []
        files.append(File.generated(config, mod.page,
                                    content=gen_api.page_markdown(mod, children)))
    reason = katex.missing_reason()
    if reason:
        raise PluginError(f"cannot render formulas: {reason}")
    shim = HERE / "node_modules" / "iframe-worker" / "shim" / "index.js"
    if not shim.is_file():
        raise PluginError("iframe-worker is not installed: run `npm ci --prefix docs/_gen` "
                          "(`make docs` does it)")
    assets = [*katex.asset_files(), (IFRAME_WORKER, shim)]
    for site_path, source in assets:
        files.append(File.generated(config, site_path, abs_src_path=str(source)))
    return files


# --- Markdown: result tables and links to repository files --------------------------------

_RESULTS_MARK = re.compile(r"<!--\s*kexue:results\s+article=([\d,]+)\s*-->")
_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^([ \t]*(?:```|~~~))", re.M)


def _results_block(articles: str, page_uri: str) -> str:
    wanted = set(articles.split(","))
    rows = [r for r in _build.records if r.get("article") in wanted]
    to_results = os.path.relpath("results.md", os.path.dirname(page_uri) or ".")
    to_archive = os.path.relpath("archive.md", os.path.dirname(page_uri) or ".")
    if not rows:
        return (f"_No result record for this article yet_ (see [all results]({to_results})).\n")
    return (gen_results.table(rows, archive_link=to_archive, with_article=len(wanted) > 1)
            + f"\nFrom `results/*.jsonl`; all records: [results]({to_results}).\n")


def _rewrite_link(match: re.Match, page_src: Path, page_uri: str) -> str:
    bang, text, target = match.groups()
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return match.group(0)
    path, _, frag = target.partition("#")
    resolved = (page_src.parent / path).resolve()
    try:
        resolved.relative_to(DOCS)
        return match.group(0)  # a docs page or image: MkDocs checks it
    except ValueError:
        pass
    try:
        rel = resolved.relative_to(REPO).as_posix()
    except ValueError:
        return f"{text} (`{path}`)" if text.strip("`") != path else text  # outside the repo
    if not resolved.exists():
        raise PluginError(f"{page_uri}: link to {target!r}: {rel} does not exist")
    if rel.startswith("kexue/") and (rel.endswith(".py") or resolved.is_dir()):
        parts = rel.removesuffix(".py").split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        module = ".".join(parts)
        while module not in _build.api_page_of and "." in module:
            module = module.rsplit(".", 1)[0]  # a private module: its package's page
        page = _build.api_page_of[module]
        link = os.path.relpath(page, os.path.dirname(page_uri) or ".")
        anchor = f"#{module}.{frag}" if frag else ""
        return f"{bang}[{text}]({link}{anchor})"
    if bang:
        raise PluginError(f"{page_uri}: image {target!r} lies outside docs/")
    return text if text.strip("`") == rel else f"{text} (`{rel}`)"


def on_page_markdown(markdown: str, page, config, files) -> str:
    uri = page.file.src_uri
    if page.file.abs_src_path is None or uri.startswith("api/"):
        return markdown
    src = Path(page.file.abs_src_path)
    pieces = _FENCE.split(markdown)
    # split() with one group gives [text, fence, text, fence, ...]; text at even positions
    # 0, 4, 8, ... lies outside code fences
    out = []
    inside = False
    for i, piece in enumerate(pieces):
        if i % 2 == 1:
            out.append(piece)
            inside = not inside
            continue
        if inside:
            out.append(piece)
            continue
        piece = _RESULTS_MARK.sub(lambda m: _results_block(m.group(1), uri), piece)
        piece = _LINK.sub(lambda m: _rewrite_link(m, src, uri), piece)
        out.append(piece)
    return "".join(out)


# --- HTML: formulas -------------------------------------------------------------------------

_ARITH = re.compile(
    r'<(span|div) class="arithmatex">(.*?)</\1>', re.S)


def _render(tex: str, display: bool, uri: str) -> str:
    if _build.renderer is None:
        _build.renderer = katex.Renderer()
    try:
        return _build.renderer.render(tex, display)
    except katex.KatexError as exc:
        raise PluginError(f"{uri}: {exc}") from None


def _arith(match: re.Match, uri: str) -> str:
    tag, body = match.groups()
    tex = html.unescape(body).strip()
    display = tag == "div"
    for left, right in (("\\(", "\\)"), ("\\[", "\\]"), ("$$", "$$"), ("$", "$")):
        if tex.startswith(left) and tex.endswith(right):
            tex = tex[len(left):-len(right)]
            break
    rendered = _render(tex.strip(), display, uri)
    return f'<div class="kx-math">{rendered}</div>' if display else rendered


def on_page_content(content: str, page, config, files) -> str:
    uri = page.file.src_uri
    return _ARITH.sub(lambda m: _arith(m, uri), content)


def on_post_build(config) -> None:
    if _build.renderer is not None:
        _build.renderer.close()
        _build.renderer = None


def on_build_error(error) -> None:
    on_post_build(None)
