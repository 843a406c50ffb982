"""The browser modules type-check: ``tsc --noEmit`` over tsconfig.json (JSDoc, ``checkJs``).

This is what scripts/check runs; here it also guards the suite a developer runs. It needs
TypeScript from ``npm ci`` (scripts/install --test installs it into node_modules/).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TSC = ROOT / "node_modules" / ".bin" / "tsc"


@pytest.mark.skipif(not TSC.exists(), reason="TypeScript not installed: run scripts/install --test")
def test_browser_modules_type_check_clean() -> None:
    result = subprocess.run(
        [str(TSC), "--noEmit", "--pretty", "false", "-p", str(ROOT / "tsconfig.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_tsconfig_checks_every_static_module_strictly() -> None:
    config = json.loads((ROOT / "tsconfig.json").read_text())
    options = config["compilerOptions"]
    assert options["checkJs"] is True and options["noEmit"] is True and options["strict"] is True
    assert "src/liveclass/web/static/**/*.js" in config["include"]
