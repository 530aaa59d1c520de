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


def test_netguard_imports_neither_django_nor_the_site_nor_the_engine():
    """Fails before the change: there was no netguard/, so the engine could not share the site's
    SSRF guard (gallery/fetch.py imports Django and is the site's). Both import netguard, it
    imports neither, and not Django: it works in any process."""
    for path in (ROOT / "netguard").rglob("*.py"):
        text = path.read_text()
        for other in ("django", "gallery", "engine"):
            assert f"from {other}" not in text and f"import {other}" not in text, f"{path} imports {other}"
    probe = (
        "import sys, netguard; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'gallery', 'engine', 'aigc_site'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
