"""The README's connector catalogue is the connectors' descriptors, never a hand-kept copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.plugins import PLUGINS
from gateway.catalogue import END, START, catalogue, declared_descriptors, replaced
from gateway.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_shows_the_catalogue_the_descriptors_make() -> None:
    text = README.read_text(encoding="utf-8")
    table = catalogue(declared_descriptors())
    assert table in text, (
        "the README's connector catalogue is stale: run "
        "'.venv/bin/connector-gateway connectors catalogue --write README.md'"
    )
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == sorted(p.key for p in PLUGINS)
    for plugin in PLUGINS:
        row = next(r for r in rows if r.startswith(f"| `{plugin.key}`"))
        for op in plugin.metadata.operations:
            assert f"`{op.name}` ({op.policy_class.value}," in row
        assert plugin.metadata.display_name_ar in row


def test_the_command_rewrites_only_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"before\n{START}\nold rows\n{END}\nafter\n", encoding="utf-8")
    assert main(["connectors", "catalogue", "--write", str(page)]) == 0
    written = page.read_text(encoding="utf-8")
    assert written == f"before\n{catalogue(declared_descriptors())}\nafter\n"
    assert main(["connectors", "catalogue"]) == 0
    assert capsys.readouterr().out == catalogue(declared_descriptors()) + "\n"


def test_a_page_without_the_markers_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.md"
    page.write_text("no table here\n", encoding="utf-8")
    assert main(["connectors", "catalogue", "--write", str(page)]) == 1
    assert "no connector catalogue markers" in capsys.readouterr().err
    assert page.read_text(encoding="utf-8") == "no table here\n"
    with pytest.raises(ValueError, match="markers"):
        replaced("text", "table")
