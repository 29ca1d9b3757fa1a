"""The archive index of the documentation site, generated from ``docs/_gen/articles.toml``.

Like the blog's own archive page: every article of the roadmap by date, its archive id, its
status in kexue (implemented / partial / not yet), a link to its kexue page, and the kexue
modules whose docstrings cite it (found in the source, so the column fills in as code lands).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

STATUSES = ("implemented", "partial", "not yet")
AREAS = ("models", "optimizers", "objectives", "decoding", "text", "data", "recipes",
         "training", "sky", "site")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ArchiveError(ValueError):
    """``articles.toml`` is inconsistent (the message names the article)."""


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    date: str
    area: str
    status: str
    page: str | None
    what: str

    @property
    def url(self) -> str:
        return f"https://kexue.fm/archives/{self.id}"

    @property
    def known_date(self) -> bool:
        return bool(_DATE.match(self.date))


def load_articles(path: Path, docs_dir: Path) -> list[Article]:
    """The articles of ``path``, checked against the pages under ``docs_dir``."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    items = data.get("article")
    if not isinstance(items, list) or not items:
        raise ArchiveError(f"{path}: no [[article]] entries")
    articles: list[Article] = []
    seen: set[str] = set()
    for item in items:
        unknown = set(item) - {"id", "title", "date", "area", "status", "page", "what"}
        if unknown:
            raise ArchiveError(f"{path}: article {item.get('id')}: unknown keys {sorted(unknown)}")
        try:
            art = Article(str(item["id"]), item["title"], item["date"], item["area"],
                          item["status"], item.get("page"), item.get("what", ""))
        except KeyError as exc:
            raise ArchiveError(f"{path}: article {item.get('id')}: missing {exc}") from None
        if not art.id.isdigit():
            raise ArchiveError(f"{path}: archive id must be digits, got {art.id!r}")
        if art.id in seen:
            raise ArchiveError(f"{path}: article {art.id} listed twice")
        seen.add(art.id)
        if art.status not in STATUSES:
            raise ArchiveError(f"{path}: article {art.id}: status {art.status!r} not in {STATUSES}")
        if art.area not in AREAS:
            raise ArchiveError(f"{path}: article {art.id}: area {art.area!r} not in {AREAS}")
        if not (art.known_date or art.date.startswith("unknown")):
            raise ArchiveError(f"{path}: article {art.id}: date must be YYYY-MM-DD or 'unknown...'")
        if art.status != "not yet" and not art.page:
            raise ArchiveError(f"{path}: article {art.id} is {art.status} but has no page")
        if art.page and not (docs_dir / art.page).is_file():
            raise ArchiveError(f"{path}: article {art.id}: page docs/{art.page} does not exist")
        articles.append(art)
    listed = {a.page for a in articles if a.page}
    for page in sorted((docs_dir / "articles").rglob("*.md")):
        rel = page.relative_to(docs_dir).as_posix()
        if rel not in listed:
            raise ArchiveError(f"{path}: docs/{rel} is an article page but no article lists it")
    return articles


def roadmap_ids(roadmap_text: str) -> set[str]:
    """Archive ids cited in the roadmap's table (``[8027]``, ``[7124, 8337]``)."""
    ids: set[str] = set()
    for group in re.findall(r"\[([\d,\s]+)\]", roadmap_text):
        ids.update(x.strip() for x in group.split(",") if x.strip())
    return ids


def citations(repo: Path) -> dict[str, list[str]]:
    """archive id -> dotted kexue modules whose source cites ``kexue.fm/archives/<id>``."""
    cited: dict[str, set[str]] = {}
    for path in sorted((repo / "kexue").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(repo).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        module = ".".join(parts)
        for aid in set(re.findall(r"kexue\.fm/archives/(\d+)", text)):
            cited.setdefault(aid, set()).add(module)
    return {k: sorted(v) for k, v in cited.items()}


def archive_page(articles: list[Article], cited: dict[str, list[str]],
                 api_page_of: dict[str, str]) -> str:
    """The archive index (Markdown). ``api_page_of`` maps a dotted module to its API page."""
    counts = {s: sum(a.status == s for a in articles) for s in STATUSES}
    out = [
        "# Archive",
        "",
        "Every Scientific Spaces article of the kexue roadmap, by date, with its status in kexue "
        "and its page. Generated at build time from `docs/_gen/articles.toml` and the "
        "citations in the kexue source; dates come from the project's reference notes, and "
        "where the notes give none the date says *unknown*.",
        "",
        f"{len(articles)} articles: {counts['implemented']} implemented, "
        f"{counts['partial']} partial, {counts['not yet']} not yet.",
        "",
    ]
    dated = sorted((a for a in articles if a.known_date), key=lambda a: (a.date, a.id))
    undated = sorted((a for a in articles if not a.known_date), key=lambda a: int(a.id))
    year = None
    for a in dated:
        if a.date[:4] != year:
            year = a.date[:4]
            out += ["", f"## {year}", "", *_head()]
        out.append(_row(a, cited, api_page_of))
    if undated:
        out += ["", "## Date unknown", "",
                "The reference notes give no publication date for these.", "", *_head()]
        out += [_row(a, cited, api_page_of) for a in undated]
    return "\n".join(out) + "\n"


def _head() -> list[str]:
    return ["| date | archive | title | area | status | kexue | cited in |",
            "|---|---|---|---|---|---|---|"]


def _row(a: Article, cited: dict[str, list[str]], api_page_of: dict[str, str]) -> str:
    page = f"[page]({a.page})" if a.page and a.status != "not yet" else "—"
    mods = []
    for m in cited.get(a.id, []):
        target = api_page_of.get(m)
        mods.append(f"[`{m}`]({target})" if target else f"`{m}`")
    what = a.what.replace("|", "\\|")
    status = f'<span class="kx-status kx-{a.status.replace(" ", "-")}">{a.status}</span>'
    return (f"| {a.date} | <span id=\"a{a.id}\"></span>[{a.id}]({a.url}) | {a.title}"
            f"<br><small>{what}</small> | {a.area} | {status} | {page} | "
            f"{'<br>'.join(mods) or '—'} |")
