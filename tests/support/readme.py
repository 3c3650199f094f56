"""The README's own examples, read from README.md, so that tests run what users are told to."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"
PROGRAM = ".venv/bin/connector-gateway"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text("utf-8"), re.S | re.M)


def _block(language: str, containing: str) -> str:
    found = [block for block in _blocks(language) if containing in block]
    assert len(found) == 1, f"README.md has {len(found)} {language} blocks with {containing!r}"
    return found[0]


@dataclass(frozen=True)
class Step:
    """One command of a README example, with what the README says it prints: the comment
    lines under it, where ``...`` stands for any text."""

    command: list[str]
    prints: list[str]

    def assert_printed(self, output: str) -> None:
        lines = [line.strip() for line in output.splitlines()]
        for said in self.prints:
            pattern = ".*?".join(re.escape(part) for part in said.strip().split("..."))
            assert any(re.fullmatch(pattern, line) for line in lines), (said, output)


def readme_steps(containing: str) -> list[Step]:
    """The commands of the README's one shell block that contains ``containing``, each split
    as a shell splits it (comments dropped) without the program name, with what it prints."""
    steps: list[Step] = []
    for line in _block("sh", containing).splitlines():
        if line.startswith("#"):
            assert steps, f"README.md: a comment before any command: {line!r}"
            steps[-1].prints.append(line.removeprefix("#").removeprefix(" ").rstrip())
            continue
        words = shlex.split(line, comments=True)
        if not words:
            continue
        assert words[0] == PROGRAM, f"README.md runs {words[0]!r}, not {PROGRAM!r}"
        steps.append(Step(words[1:], []))
    return steps


def readme_toml(containing: str) -> dict[str, Any]:
    """The README's one TOML example that contains ``containing``, parsed."""
    return tomllib.loads(_block("toml", containing))


def substituted(command: list[str], replacements: dict[str, str]) -> list[str]:
    """The command with the README's placeholders (``apr_...``, ``EXECUTION_ID``) replaced
    by what an earlier step printed; every placeholder must be known."""
    words = [replacements.get(word, word) for word in command]
    unknown = [word for word in words if "..." in word or word == "EXECUTION_ID"]
    assert not unknown, f"no value for {unknown}"
    return words
