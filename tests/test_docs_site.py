"""The documentation site (``make docs``) in a real headless browser (Debian's chromium,
driven by playwright): the models table lists every registered model, each notebook's
page shows its plots, and no internal link of the built site is broken. Also: the build's
options (the Makefile's DOCS_SPHINXOPTS) make a warning fail the build.

These read docs/_build/html, so `make docs-test` builds the site first (`docs` marker:
left out of `make test`)."""
import html.parser
import os
import re
import subprocess
import sys
import urllib.parse

import pytest

from conftest import REPO

pytestmark = pytest.mark.docs

SITE = os.path.join(REPO, "docs", "_build", "html")


@pytest.fixture(scope="module")
def site():
    if not os.path.exists(os.path.join(SITE, "index.html")):
        pytest.fail("%s has no index.html: `make docs` builds the site (make docs-test "
                    "builds it, then runs these tests)" % SITE)
    return SITE


def _open(browser, path):
    page = browser.new_page()
    page.goto("file://" + path, wait_until="load")
    return page


def test_home_page_is_the_readme_with_the_manual(browser, site):
    page = _open(browser, os.path.join(site, "index.html"))
    try:
        with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
            title = f.readline().lstrip("# ").strip()
        assert page.locator("h1").first.inner_text().strip().rstrip("#¶ ").strip() == title
        nav = page.locator(".sidebar-tree").inner_text()
        for name in ("Install", "Quick starts", "Models", "API reference", "Notebooks"):
            assert name in nav
    finally:
        page.close()


def test_models_table_lists_every_registered_model(browser, site):
    import gluon_resnet
    page = _open(browser, os.path.join(site, "models.html"))
    try:
        names = page.evaluate("""() => {
            const t = [...document.querySelectorAll('table')].find(
                t => t.tHead && t.tHead.innerText.includes('minimum input'));
            return t ? [...t.tBodies[0].rows].map(r => r.cells[0].innerText.trim()) : null;
        }""")
    finally:
        page.close()
    assert names is not None, "models.html has no generated models table"
    assert sorted(names) == gluon_resnet.list_models()


def test_each_notebook_page_shows_an_image(browser, site):
    notebooks = sorted(f[:-6] for f in os.listdir(os.path.join(REPO, "notebooks"))
                       if f.endswith(".ipynb"))
    assert notebooks
    for name in notebooks:
        path = os.path.join(site, "_generated", "notebooks", name + ".html")
        assert os.path.exists(path), "no page for notebooks/%s.ipynb" % name
        page = _open(browser, path)
        try:
            shown = page.evaluate("""() => [...document.querySelectorAll('article img')]
                .filter(i => i.complete && i.naturalWidth > 0).length""")
        finally:
            page.close()
        assert shown >= 1, "notebooks/%s.ipynb's page shows no image" % name


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and attrs.get("rel") == "preconnect"):
                self.links.append(attrs[key])


def _parse(path):
    parser = _Links()
    with open(path, encoding="utf-8") as f:
        parser.feed(f.read())
    return parser


def test_no_internal_link_is_broken(site):
    pages = [os.path.join(root, f) for root, _, files in os.walk(site)
             for f in files if f.endswith(".html")]
    parsed = {p: _parse(p) for p in pages}
    broken = []
    for page, parser in parsed.items():
        for link in parser.links:
            url = urllib.parse.urlsplit(link)
            if url.scheme or link.startswith("//"):
                continue                                  # external (http:, mailto:, data:)
            target = (os.path.normpath(os.path.join(os.path.dirname(page),
                                                    urllib.parse.unquote(url.path)))
                      if url.path else page)
            if os.path.isdir(target):
                target = os.path.join(target, "index.html")
            if not os.path.exists(target):
                broken.append("%s: %s" % (os.path.relpath(page, site), link))
            elif url.fragment and target.endswith(".html"):
                ids = (parsed.get(target) or _parse(target)).ids
                if urllib.parse.unquote(url.fragment) not in ids:
                    broken.append("%s: %s (no such anchor)" % (os.path.relpath(page, site), link))
    assert len(pages) > 20
    assert not broken, "broken internal links:\n" + "\n".join(sorted(set(broken)))


def _sphinxopts():
    with open(os.path.join(REPO, "Makefile"), encoding="utf-8") as f:
        m = re.search(r"^DOCS_SPHINXOPTS\s*[?:]?=\s*(.+)$", f.read(), re.M)
    assert m, "the Makefile sets no DOCS_SPHINXOPTS"
    return m.group(1).split()


@pytest.mark.parametrize("planted", [None, "[a broken link](missing.md)",
                                     "{py:func}`gluon_resnet.no_such_function`"])
def test_a_warning_fails_the_build(tmp_path, planted):
    """A throwaway MyST project built with make docs' options: clean, it builds; with a
    broken link or a broken reference, the build fails and names it."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["myst_parser"]\n')
    (src / "index.md").write_text("# Title\n\nSome text. %s\n" % (planted or ""))
    r = subprocess.run([sys.executable, "-m", "sphinx"] + _sphinxopts()
                       + ["-b", "html", str(src), str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    if planted is None:
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode != 0
        assert re.search(r"missing\.md|no_such_function", r.stderr), r.stderr
