"""The README as a new user meets it: short, install first, every code block runs as written,
every link leads somewhere."""

from __future__ import annotations

import re
import runpy
import tomllib
from pathlib import Path

import pytest

from helpers.doc_blocks import check_nnscratch_command, code_blocks, command_lines

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = code_blocks(README)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
SHELL = [code for lang, code in BLOCKS if lang in ("", "bash", "sh")]


def test_the_readme_is_an_introduction():
    lines = README.splitlines()
    assert len(lines) <= 250
    assert any("pip install" in line for line in lines[:40])
    assert "who" in " ".join(lines[:20]).lower() or "it is for" in " ".join(lines[:20])


@pytest.mark.parametrize("code", PYTHON, ids=[f"python{i}" for i in range(len(PYTHON))])
def test_every_python_block_runs_as_written(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    path = tmp_path / "block.py"
    path.write_text(code, encoding="utf-8")
    runpy.run_path(str(path), run_name="__main__")


def test_every_command_in_the_readme_exists():
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M))
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    seen = 0
    for block in SHELL:
        for words in command_lines(block):
            seen += 1
            if words[0] == "make":
                assert words[1] in targets, words
            elif words[0] == "pip":
                spec = words[-1].strip("\"'")
                for extra in re.findall(r"\[([\w,]+)\]", spec)[:1]:
                    assert set(extra.split(",")) <= set(extras), words
            elif words[0] == "nnscratch":
                check_nnscratch_command(words)
            else:
                pytest.fail(f"unexpected command in the README: {' '.join(words)}")
    assert seen >= 6


def test_every_link_of_the_readme_and_docs_leads_to_a_file():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)}: broken link {target}"
