"""The dashboard image's Python dependencies, server/requirements.txt: the versions of
uv.lock, and every distribution the server imports, the pulse_shared modules it uses
included (the image installs pulse_shared without its dependencies)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from pulse_testing.infra import ROOT

SERVER = Path(ROOT) / "services" / "dashboard" / "server"
SHARED = Path(ROOT) / "shared" / "src"


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    found = {}
    for line in (SERVER / "requirements.txt").read_text(encoding="utf-8").splitlines():
        requirement = line.partition("#")[0].strip()
        if requirement:
            name, _, version = requirement.partition("==")
            found[normalised(name)] = version
    return found


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def shared_module_file(module: str) -> Path:
    path = SHARED.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def third_party_imports() -> set[str]:
    """The top-level modules the server imports, following its pulse_shared imports."""
    pending, seen, found = list(SERVER.glob("*.py")), set(), set()
    while pending:
        path = pending.pop()
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top == "pulse_shared":
                file = shared_module_file(module)
                if file not in seen:
                    seen.add(file)
                    pending.append(file)
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.add(top)
    return found


def test_the_pins_are_the_versions_of_uv_lock() -> None:
    lock = tomllib.loads((Path(ROOT) / "uv.lock").read_text(encoding="utf-8"))
    locked = {normalised(p["name"]): p.get("version") for p in lock["package"]}
    assert {name: locked.get(name) for name in pins()} == pins()


def test_every_distribution_the_server_imports_is_pinned() -> None:
    distributions = importlib.metadata.packages_distributions()
    needed = {normalised(d) for top in third_party_imports() for d in distributions[top]}
    assert "structlog" in needed  # through pulse_shared's rate limits
    assert needed <= set(pins()), sorted(needed - set(pins()))
