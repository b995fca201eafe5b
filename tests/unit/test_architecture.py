"""The house's "never"s (ARCHITECTURE.md) hold: the import-linter contracts in pyproject.toml, and
the web layer's shape a newcomer relies on (one `routes.py` per area, all registered in one list)."""
import re
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    status = lint_imports(no_cache=True)
    report = capsys.readouterr().out
    assert status == 0, report
    assert "0 broken" in report


def test_every_area_has_its_routes_in_routes_py_and_is_registered_once():
    from blueprints import BLUEPRINTS

    areas = {path.parent.name for path in (ROOT / "blueprints").glob("*/routes.py")}
    registered = [blueprint.import_name for blueprint in BLUEPRINTS]
    assert all(name.endswith(".routes") for name in registered), registered
    assert len(set(registered)) == len(registered)
    assert {name.split(".")[1] for name in registered} == areas - {"bench"}, "bench registers only when benchmarking"
    for init in (ROOT / "blueprints").glob("*/__init__.py"):
        assert "Blueprint(" not in init.read_text(), f"{init}: routes belong in routes.py"


def test_nothing_but_the_entry_points_and_tests_builds_the_app():
    entry_points = {"app.py", "worker.py"}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in (".venv", "node_modules", "tests", "bench", "migrations") or str(relative) in entry_points:
            continue
        imports_app = re.search(r"^\s*(from app import|import app\b|from worker import|import worker\b)", path.read_text(), re.M)
        assert not imports_app, f"{relative} imports the app: jobs receive it from the worker, views from Flask"
