"""The engine is the domain core: importing all of it must not load Flask."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parents[2]


def test_engine_modules_do_not_import_flask() -> None:
    modules = [f"engine.{m.name}" for m in pkgutil.iter_modules(engine.__path__)]
    assert "engine.cases" in modules and "engine.tasks" in modules
    program = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'flask' or m.startswith(('flask.', 'flask_', 'werkzeug')))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"engine loaded web modules: {result.stdout.strip()}"
