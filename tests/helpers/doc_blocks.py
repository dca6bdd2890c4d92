"""Code blocks of Markdown pages, and the check that an ``nnscratch ...`` command line names real
subcommands and existing example files (used by tests/test_readme.py and tests/test_docs_guide.py)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from nnscratch.cli import app

ROOT = Path(__file__).parents[2]
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", flags=re.S | re.M)


def code_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced block, in order (language "" when none is given)."""
    return [(lang, code) for lang, code in _FENCE.findall(text)]


def command_lines(block: str) -> list[list[str]]:
    """The words of each command line of a shell block, comments dropped."""
    return [line.split("#")[0].split() for line in block.splitlines() if line.split("#")[0].strip()]


def check_nnscratch_command(words: list[str]) -> None:
    """Every word up to the first option is a real (sub)command; every ``.toml`` file named exists
    (paths are relative to the repository root, as the pages' commands are run from a clone)."""
    assert words[0] == "nnscratch", words
    command = get_command(app)
    for word in words[1:]:
        if word.startswith("-") or not hasattr(command, "commands"):
            break
        assert word in command.commands, f"not an nnscratch subcommand: {word!r} in {' '.join(words)}"
        command = command.commands[word]
    for word in words[1:]:
        if word.endswith(".toml"):
            assert (ROOT / word).is_file(), f"no such example file: {word} in {' '.join(words)}"
