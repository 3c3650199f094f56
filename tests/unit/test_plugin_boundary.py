"""The plugin boundary: the gateway's core reaches vendors only through ``adapters.plugins``,
vendors never reach into the gateway's settings, and each vendor folder is one plugin."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.plugins import PLUGINS

ROOT = Path(__file__).resolve().parents[2]
# Vendor folders are the packages under adapters/ that are not shared helpers.
SHARED = {"shared", "http"}
VENDOR_FOLDERS = sorted(
    path.name
    for path in (ROOT / "adapters").iterdir()
    if (path / "__init__.py").is_file() and path.name not in SHARED
)


def imported_modules(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, relative imports resolved against its package."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            yield base
            # "from adapters import email" imports the vendor folder too.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def modules_under(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_vendor_folders_are_the_plugins() -> None:
    assert sorted(plugin.key for plugin in PLUGINS) == VENDOR_FOLDERS
    assert [plugin.key for plugin in PLUGINS] == sorted(plugin.key for plugin in PLUGINS)


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def test_the_gateway_imports_no_vendor_folder() -> None:
    """Only the list of plugins and the shared helpers; no vendor folder, present or future."""
    allowed = ("adapters.plugins", *(f"adapters.{folder}" for folder in sorted(SHARED)))
    crossings = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in modules_under("gateway")
        for module in imported_modules(path)
        if module.startswith("adapters.") and not any(within(module, a) for a in allowed)
    ]
    assert crossings == []
    assert any(
        within(module, "adapters.plugins")
        for module in imported_modules(ROOT / "gateway" / "app.py")
    )


def test_no_adapter_imports_the_gateway_settings() -> None:
    crossings = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in modules_under("adapters")
        for module in imported_modules(path)
        if within(module, "gateway.settings")
    ]
    assert crossings == []


@pytest.mark.parametrize("folder", VENDOR_FOLDERS)
def test_each_vendor_folder_exports_one_plugin_of_its_own_key(folder: str) -> None:
    package = importlib.import_module(f"adapters.{folder}")
    assert package.__all__ == ["PLUGIN"]
    assert package.PLUGIN.metadata.key == folder
    assert package.PLUGIN in PLUGINS
