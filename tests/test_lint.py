"""ruff keeps the code base linted and formatted (pyproject.toml holds the rules)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)


def test_the_code_passes_ruff_check():
    result = _ruff("check", ".")
    assert result.returncode == 0, result.stdout


def test_the_code_is_ruff_formatted():
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout


def test_site_and_engine_know_each_other_only_over_http():
    for folder, other in (("gallery", "engine"), ("engine", "gallery")):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            assert f"from {other}" not in text and f"import {other}" not in text, f"{path} imports {other}"
