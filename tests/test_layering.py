"""No import goes upward (ARCHITECTURE §1): core imports no app, and no app's models, services,
selectors or locks import the web layer. Read from the source with `ast`, so a lazy import
inside a function counts as much as one at the top."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "budgets", "campaigns", "coupons", "orders", "points", "redemption", "reports")
WEB = "web"
BELOW_THE_WEB = ("models", "services", "selectors", "locks", "periods", "errors", "tasks")


def _imports(path: Path) -> set[str]:
    """Top-level package names a module imports (relative imports stay in their package)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _modules(package: str, *, skip_tests: bool = True):
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if skip_tests and ("tests" in parts or "migrations" in parts):
            continue
        yield path


def _is_below_the_web(path: Path) -> bool:
    """models.py, services.py or a module of the services/ package, selectors.py …"""
    relative = path.relative_to(ROOT).parts
    return relative[1].removesuffix(".py") in BELOW_THE_WEB


def test_core_imports_no_app_and_no_web_layer():
    upward = set(APPS) | {WEB, "config"}
    found = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & upward) for path in _modules("core")
    }
    assert {path: names for path, names in found.items() if names} == {}


@pytest.mark.parametrize("app", APPS)
def test_no_models_services_or_selectors_import_the_web_layer(app):
    found = [
        str(path.relative_to(ROOT))
        for path in _modules(app)
        if _is_below_the_web(path) and {WEB, "config"} & _imports(path)
    ]
    assert found == []


@pytest.mark.parametrize("app", APPS)
def test_locks_import_only_models(app):
    path = ROOT / app / "locks.py"
    if not path.exists():
        pytest.skip(f"{app} takes no row locks of its own")
    tree = ast.parse(path.read_text())
    project = set(APPS) | {WEB, "core", "config"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # from .models import …
                assert module == "models", f"{app}/locks.py imports .{module}"
            elif module.split(".")[0] in project:
                assert module.endswith(".models"), f"{app}/locks.py imports {module}"


def test_the_check_itself_sees_an_upward_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from web.pages import console_view\nimport accounts.models\n")
    assert _imports(module) == {"web", "accounts"}
