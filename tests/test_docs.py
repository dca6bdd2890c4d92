"""The documentation site builds with ``mkdocs build --strict`` (a broken link, a stale reference or
a docstring griffe cannot read fails), every page is in the navigation, and the API reference
documents every public ``ns.*`` name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import nnscratch as ns

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_the_site_builds_strictly_with_every_page_in_the_navigation(site):
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").rglob("*.md")):
        name = page.relative_to(ROOT / "docs").as_posix()
        assert name in nav, f"docs/{name} is not in mkdocs.yml's nav"
    assert (site / "index.html").is_file() and (site / "api" / "index.html").is_file()


def test_the_api_reference_documents_every_public_name(site):
    html = (site / "api" / "index.html").read_text(encoding="utf-8")
    modules = {"data": "nnscratch.data", "errors": "nnscratch.base.errors", "init": "nnscratch.engine.init"}
    missing = [n for n in ns.__all__ if f'id="{modules.get(n, "nnscratch." + n)}"' not in html]
    assert not missing, missing
