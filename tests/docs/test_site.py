"""The documentation site: strict offline build, result records, archive index, and headless
Chromium checks of the built pages (formulas rendered, nothing fetched from outside).

Set-up, done here when needed: the ``docs`` extra (``pip install -e '.[docs]'``; the tests skip
without it), KaTeX from the npm registry (``npm ci --prefix docs/_gen``, run by the fixture when
``docs/_gen/node_modules`` is missing) and Debian's ``chromium`` (installed with ``apt-get`` by
the browser fixture when missing; the browser tests skip, saying why, when that fails). The
site is built once per session into a temporary directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GEN = REPO / "docs" / "_gen"
ROADMAP = REPO.parent / "shared" / "ROADMAP.md"


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"_kexue_docs_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


gen_results = _module(GEN / "gen_results.py")
gen_archive = _module(GEN / "gen_archive.py")
browser = _module(HERE / "browser.py")


def _ensure_katex() -> None:
    if (GEN / "node_modules" / "katex" / "dist" / "katex.min.css").is_file() and \
            (GEN / "node_modules" / "iframe-worker" / "shim" / "index.js").is_file():
        return
    if shutil.which("npm") is None:
        pytest.skip("KaTeX is not installed and npm is not available")
    proc = subprocess.run(["npm", "ci", "--prefix", str(GEN), "--no-audit", "--no-fund"],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.skip(f"npm ci --prefix docs/_gen failed: {proc.stderr[-1000:]}")


@contextlib.contextmanager
def _shared_dir(tmp_path_factory, name: str):
    """A directory shared by the pytest-xdist workers of this session, held under a lock, so
    that the site is built (and Chromium installed) once per session, not once per worker."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # pytest-N/, shared by the workers' popen-gwK/ directories
    path = base / name
    path.mkdir(exist_ok=True)
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    for mod in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "jieba"):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} is not installed: the docs extra (pip install -e '.[docs]')")
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed (KaTeX renders the formulas at build time)")
    with _shared_dir(tmp_path_factory, "docs-site") as shared:
        out = shared / "site"
        if (shared / "ok").is_file():
            return out
        _ensure_katex()
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
            cwd=REPO, capture_output=True, text=True, timeout=600,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )
        assert proc.returncode == 0, \
            f"strict build failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        print(f"site built in {time.perf_counter() - start:.1f} s")
        (shared / "ok").write_text("built\n")
        return out


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def _article_pages() -> list[str]:
    return sorted(p.relative_to(REPO / "docs").with_suffix(".html").as_posix()
                  for p in (REPO / "docs" / "articles").rglob("*.md"))


# --- the build ------------------------------------------------------------------------------


def test_build_has_every_page(site):
    for page in ["index.html", "archive.html", "results.html", "contributing.html",
                 "api/kexue/index.html", "api/kexue/objectives/flooding.html",
                 *_article_pages()]:
        assert (site / page).is_file(), page
    for guide in (REPO / "docs").glob("*.md"):  # every docs/*.md is in the site (glob nav)
        assert (site / guide.with_suffix(".html").name).is_file(), guide.name
        assert f'href="{guide.with_suffix(".html").name}"' in (site / "index.html").read_text()


def test_a_broken_link_fails_the_strict_build(tmp_path):
    # (not with -q: mkdocs 1.6 then drops the warnings and strict mode passes)
    pytest.importorskip("mkdocs")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# x\n\n[gone](missing.md)\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\nstrict: true\n")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode != 0 and "missing.md" in proc.stdout + proc.stderr


# --- result records ---------------------------------------------------------------------------


def test_every_record_command_exists_in_the_repository():
    records = gen_results.load_records(REPO)  # raises on a bad record
    for r in records:
        gen_results.check_command(REPO, r["command"])
        for key in gen_results.REQUIRED:
            assert r.get(key) not in (None, ""), (r.source, key)


@pytest.mark.parametrize("command", [
    "python experiments/no_such_script.py",
    "python -m kexue nosuchcommand --x",
    "python -m kexue.no_such_module",
    "make no-such-target",
    "python -m pytest tests/no_such_dir",
    "bash -c 'echo 1'",
    "",
])
def test_a_command_that_does_not_exist_is_refused(command):
    with pytest.raises(gen_results.RecordError):
        gen_results.check_command(REPO, command)


@pytest.mark.parametrize("command", [
    "python experiments/objectives_flooding.py --no-write",
    "python -m kexue words evaluate --gold a --pred b",
    "kexue shuffle in.txt -o out.txt",
    "python -m pytest tests/docs",
    "make docs",
])
def test_a_command_that_exists_is_accepted(command):
    gen_results.check_command(REPO, command)


def test_a_bad_record_is_refused(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "run.py").write_text("")
    good = {"claim": "c", "value": 1, "unit": "u", "data": "d",
            "command": "python experiments/run.py",
            "commit": "abc", "date": "2026-12-03", "machine": "2-core CPU"}
    (tmp_path / "results" / "x.jsonl").write_text(json.dumps(good) + "\n")
    assert len(gen_results.load_records(tmp_path)) == 1
    for broken in ({**good, "command": "python experiments/gone.py"},
                   {k: v for k, v in good.items() if k != "unit"}):
        (tmp_path / "results" / "x.jsonl").write_text(json.dumps(broken) + "\n")
        with pytest.raises(gen_results.RecordError, match="x.jsonl:1"):
            gen_results.load_records(tmp_path)


def test_results_page_shows_every_record(site):
    page = (site / "results.html").read_text(encoding="utf-8")
    for r in gen_results.load_records(REPO):
        assert html.escape(r["command"], quote=False) in page, r.source
        assert html.escape(gen_results.format_value(r["value"]), quote=False) in page, r.source
    for r in gen_results.load_records(REPO):  # and on the article's page, when it has one
        art = r.get("article")
        pages = [a.page for a in _articles() if a.id == art and a.page]
        for p in pages:
            text = (site / Path(p).with_suffix(".html")).read_text(encoding="utf-8")
            assert html.escape(r["command"], quote=False) in text, (r.source, p)


# --- archive index ---------------------------------------------------------------------------


def _articles():
    return gen_archive.load_articles(GEN / "articles.toml", REPO / "docs")


def test_archive_lists_every_roadmap_article():
    if not ROADMAP.is_file():
        pytest.skip(f"the roadmap is not beside this checkout: {ROADMAP}")
    ids = gen_archive.roadmap_ids(ROADMAP.read_text(encoding="utf-8"))
    assert len(ids) > 40
    missing = ids - {a.id for a in _articles()}
    assert not missing, f"roadmap articles missing from docs/_gen/articles.toml: {sorted(missing)}"


def test_roadmap_ids_are_parsed():
    text = "| models | RealFormer [8027]; conditional LayerNorm [7124, 8337] | library | 1 |"
    assert gen_archive.roadmap_ids(text) == {"8027", "7124", "8337"}


def test_archive_page_links_each_implemented_article(site):
    page = (site / "archive.html").read_text(encoding="utf-8")
    for a in _articles():
        assert f'href="https://kexue.fm/archives/{a.id}"' in page, a.id
        assert f'id="a{a.id}"' in page, a.id
        if a.status != "not yet":
            assert f'href="{Path(a.page).with_suffix(".html").as_posix()}"' in page, a.id
    dated = re.findall(r"<td>(\d{4}-\d{2}-\d{2})</td>", page)
    assert dated == sorted(dated) and len(dated) >= 40  # by date


def test_every_article_page_has_link_formula_api_example_and_results():
    for p in (REPO / "docs" / "articles").rglob("*.md"):
        text = p.read_text(encoding="utf-8")
        name = p.relative_to(REPO).as_posix()
        assert re.search(r"\(https://kexue\.fm/archives/\d+\)", text), name
        assert "$" in text, name
        assert "<!-- kexue:results article=" in text, name
        if "site/" not in name:
            assert "```python" in text, name
            assert re.search(r"\]\((\.\./)+kexue/[\w/]+\.py", text), name  # -> API page


# --- the built pages, statically --------------------------------------------------------------

_RESOURCE = re.compile(r"<(?:script|img|iframe|source|audio|video|embed)\b[^>]*\bsrc=\"([^\"]*)\""
                       r"|<link\b[^>]*\bhref=\"([^\"]*)\"", re.I)
_HIDDEN = re.compile(r"<(script|style|pre|code|annotation|textarea)\b.*?</\1>"
                     r"|<span class=\"katex-mathml\">.*?</math></span>", re.S | re.I)
_RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\\begin\{|\\frac|\\mathcal"
                      r"|(?<![\w$])\$[^$\s<>](?:[^$<>]*[^$\s<>])?\$")


def _visible_text(page_html: str) -> str:
    body = page_html.split("<body", 1)[-1]
    text = re.sub(r"<[^>]+>", " ", _HIDDEN.sub(" ", body))
    return html.unescape(text)


def test_no_resource_is_loaded_from_outside_the_site(site):
    bad = []
    for page in _pages(site):
        for src, href in _RESOURCE.findall(page.read_text(encoding="utf-8")):
            url = src or href
            if re.match(r"^(https?:)?//", url):
                tag_is_link = bool(href)
                # <link rel="canonical|alternate"> are not fetched, but none is expected either
                bad.append((page.relative_to(site).as_posix(), url, tag_is_link))
    for css in site.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?([^)'\"]+)", css.read_text(encoding="utf-8")):
            if re.match(r"^(https?:)?//", url):
                bad.append((css.relative_to(site).as_posix(), url, False))
    assert not bad, bad[:10]


def test_every_formula_is_rendered_in_the_html(site):
    for page in _pages(site):
        text = page.read_text(encoding="utf-8")
        rel = page.relative_to(site).as_posix()
        assert 'class="arithmatex"' not in text, rel
        raw = _RAW_TEX.findall(_visible_text(text))
        assert not raw, (rel, raw[:5])
    for rel in _article_pages():
        text = (site / rel).read_text(encoding="utf-8")
        assert text.count('class="katex"') >= 1 and "<math" in text, rel


def test_docstring_math_is_rendered_on_api_pages(site):
    text = (site / "api/kexue/objectives/flooding.html").read_text(encoding="utf-8")
    assert ":math:" not in _visible_text(text)
    assert 'class="katex"' in text


def test_visible_text_check_catches_raw_tex():
    assert _RAW_TEX.findall(_visible_text("<body><p>loss $a+b$ here</p></body>"))
    assert _RAW_TEX.findall(_visible_text(r"<body><p>\begin{equation}x\end{equation}</p></body>"))
    text = "<body><p>costs $5 and $6</p><code>$x$</code></body>"
    assert not _RAW_TEX.findall(_visible_text(text))


# --- the built pages, in a browser ------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium(tmp_path_factory) -> str:
    with _shared_dir(tmp_path_factory, "chromium-install"):  # one apt-get at a time
        path, why = browser.ensure_chromium()
    if path is None:
        pytest.skip(f"headless Chromium unavailable: {why}")
    return path


def test_pages_in_headless_chromium(site, chromium, tmp_path):
    """Rendered DOM of two article pages, screenshots of three pages; every run's net log."""
    runs = [("dom", "articles/objectives/7643-flooding.html"),
            ("dom", "articles/optimizers/7387-adax.html"),
            *(("shot", page) for page in browser.SCREENSHOTS.values())]
    with browser.SiteServer(site) as server:
        for mode, rel in runs:
            url = f"{server.origin}/{rel}"
            if mode == "dom":
                got = browser.load(chromium, url)
                assert "</html>" in got.dom and len(got.dom) > 5000, rel
                raw = _RAW_TEX.findall(_visible_text(got.dom))
                assert not raw, (rel, raw[:5])
                assert got.dom.count('class="katex"') >= 3 and "<math" in got.dom, rel
            else:
                shot = tmp_path / rel.replace("/", "_").replace(".html", ".png")
                got = browser.load(chromium, url, screenshot=shot)
                png = shot.read_bytes()
                assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000, rel
            own = [u for u, init in got.requests
                   if init == server.origin or u.startswith(server.origin + "/")]
            assert any(u.endswith(".css") for u in own), (rel, own)  # the log sees the page
            outside = [u for u, init in got.requests
                       if init == server.origin and not u.startswith(server.origin + "/")]
            assert not outside, (rel, outside)
            if mode == "dom" and rel.startswith("articles/"):  # KaTeX's fonts came from the site
                assert any("/assets/katex/fonts/" in u for u in own), (rel, own)


@pytest.mark.parametrize("query", ["训练集", "flooding"])
def test_search_works_offline_from_the_disk(site, chromium, query):
    """Material's search, opened from file:// (no server, no network), finds Chinese words
    (segmented by jieba at build time) and English ones."""
    url = (site / "index.html").as_uri() + "?q=" + urllib.parse.quote(query)
    got = browser.load(chromium, url, wait_ms=6000)
    meta = re.search(r'md-search-result__meta">([^<]*)<', got.dom)
    assert meta and re.match(r"(\d+) matching document", meta.group(1)), meta and meta.group(1)
    assert int(meta.group(1).split()[0]) >= 1
    # file:// loads bypass the network stack: any request the page made would be in the log
    # (the browser's own background requests carry no page origin)
    assert not [u for u, init in got.requests if init not in ("not an origin", "")]


def test_committed_screenshots_are_linked_from_contributing():
    text = (REPO / "docs" / "contributing.md").read_text(encoding="utf-8")
    for name in browser.SCREENSHOTS:
        assert (REPO / "docs" / "img" / "site" / name).is_file(), name
        assert f"img/site/{name}" in text, name


# --- the hooks' link rewriting ------------------------------------------------------------------


@pytest.fixture(scope="module")
def hooks():
    pytest.importorskip("mkdocs")
    mod = _module(GEN / "hooks.py")
    mod.on_config({"nav": None})
    return mod


def _rewrite(hooks, markdown: str, page: str = "articles/objectives/x.md") -> str:
    src = REPO / "docs" / page
    return hooks._LINK.sub(lambda m: hooks._rewrite_link(m, src, page), markdown)


def test_a_link_to_library_source_becomes_its_api_page(hooks):
    out = _rewrite(hooks, "[f](../../../kexue/objectives/flooding.py#flooding)")
    assert out == "[f](../../api/kexue/objectives/flooding.md#kexue.objectives.flooding.flooding)"
    # a private module links to its package's page
    out = _rewrite(hooks, "[c](../../../kexue/objectives/_checks.py)")
    assert out == "[c](../../api/kexue/objectives/index.md)"


def test_a_link_to_a_script_becomes_text_and_a_missing_file_fails(hooks):
    from mkdocs.exceptions import PluginError

    out = _rewrite(hooks, "see [the run](../../../experiments/objectives_flooding.py)")
    assert out == "see the run (`experiments/objectives_flooding.py`)"
    with pytest.raises(PluginError, match="does not exist"):
        _rewrite(hooks, "[x](../../../experiments/no_such_file.py)")
    assert _rewrite(hooks, "[p](../../objectives.md#x)") == "[p](../../objectives.md#x)"


def test_rst_math_in_docstrings_becomes_markdown_math():
    pytest.importorskip("griffe")
    rst = _module(GEN / "griffe_rst.py").rst_to_markdown
    text = ("Loss :math:`\\tilde L` of :func:`flooding`::\n\n    x = 1\n\n"
            "    .. math:: a\n              + b\n\nend")
    assert rst(text) == ("Loss $\\tilde L$ of `flooding`:\n\n    x = 1\n\n\n"
                         "    $$\n    a\n    + b\n    $$\n\n\nend")
