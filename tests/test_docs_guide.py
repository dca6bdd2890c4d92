"""The user guide runs as written: every ```python block of its pages runs on its own (a fresh
namespace, in an empty folder, warnings as errors, with a time limit), and every `nnscratch ...`
command of its shell blocks names real subcommands and existing example files.

A block that needs an optional package says so on its first line (``# needs: torch``) and is
skipped when that package is missing."""

from __future__ import annotations

import importlib.util
import re
import runpy
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers.doc_blocks import check_nnscratch_command, code_blocks, command_lines

DOCS = Path(__file__).parents[1] / "docs"
# The pages whose python blocks must all run; the others of the guide are checked for commands.
RUNNABLE = [
    "getting-started.md",
    "models.md",
    "transformers.md",
    "training.md",
    "cv-and-sweeps.md",
    "saving-and-resuming.md",
    "sklearn-and-pytorch.md",
    "worked-examples.md",
]
COMMANDS_ONLY = ["experiment-files.md", "playground.md", "distributed.md", "performance.md"]
BLOCK_SECONDS = 20  # each block trains a few hundred epochs at most


def _python_blocks() -> list[tuple[str, str]]:
    found = []
    for page in RUNNABLE:
        text = (DOCS / page).read_text(encoding="utf-8")
        blocks = [code for lang, code in code_blocks(text) if lang == "python"]
        found += [(f"{page}:{i}", code) for i, code in enumerate(blocks)]
    return found


PYTHON = _python_blocks()


def _needs(code: str) -> list[str]:
    first = code.splitlines()[0] if code.strip() else ""
    match = re.match(r"#\s*needs:\s*(.+)", first.strip())
    return [name.strip() for name in match.group(1).split(",")] if match else []


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def expire(signum, frame):  # pragma: no cover - only when a block hangs
        raise TimeoutError(f"the block ran longer than {seconds} s: keep guide examples small")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_every_guide_page_has_runnable_examples():
    pages = {name.split(":")[0] for name, _ in PYTHON}
    assert pages == set(RUNNABLE)  # every runnable page shows code that runs
    assert len(PYTHON) >= 20


@pytest.mark.parametrize("code", [c for _, c in PYTHON], ids=[n for n, _ in PYTHON])
def test_every_python_block_of_the_guide_runs_as_written(code, tmp_path, monkeypatch):
    for package in _needs(code):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"the block needs {package}")
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    path = tmp_path / "block.py"
    path.write_text(code, encoding="utf-8")
    with _time_limit(BLOCK_SECONDS):
        runpy.run_path(str(path), run_name="__main__")


def _guide_commands() -> list[list[str]]:
    commands = []
    for page in RUNNABLE + COMMANDS_ONLY:
        for lang, code in code_blocks((DOCS / page).read_text(encoding="utf-8")):
            if lang in ("", "bash", "sh", "console"):
                commands += [words for words in command_lines(code) if words[0] == "nnscratch"]
    return commands


def test_every_nnscratch_command_of_the_guide_exists():
    commands = _guide_commands()
    assert len(commands) >= 15
    for words in commands:
        check_nnscratch_command(words)


def test_the_checks_catch_a_wrong_command_and_a_missing_file():
    with pytest.raises(AssertionError, match="not an nnscratch subcommand"):
        check_nnscratch_command(["nnscratch", "trian", "examples/xor_221.toml"])
    with pytest.raises(AssertionError, match="no such example file"):
        check_nnscratch_command(["nnscratch", "train", "examples/nope.toml"])


def test_a_block_names_the_optional_packages_it_needs_on_its_first_line():
    assert _needs("# needs: torch\nimport torch\n") == ["torch"]
    assert _needs("# needs: torch, safetensors\n") == ["torch", "safetensors"]
    assert _needs("import numpy as np\n# needs: torch\n") == []
    torch_blocks = [code for _, code in PYTHON if "import torch" in code]
    assert torch_blocks and all(_needs(code) == ["torch"] for code in torch_blocks)
