"""The browser suite without a browser: it skips with the reason on a developer's machine, and fails
the run where a browser is required (CI sets EXPERT_PLATFORM_REQUIRE_BROWSER=1), so `.ci/run` cannot
pass with chromium missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REASON = "Debian's chromium package is not installed (apt-get install chromium, or set CHROMIUM_PATH)"


def run_browser_suite_without_chromium(**settings: str) -> subprocess.CompletedProcess:
    """pytest on tests/browser with no chromium to be found (an empty PATH, no CHROMIUM_PATH), in a process of
    its own whatever this one is (an xdist worker's variables are not passed on)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("CHROMIUM_PATH", "EXPERT_PLATFORM_REQUIRE_BROWSER", "EXPERT_PLATFORM_FAIL_ON_SKIP")
           and not key.startswith("PYTEST_XDIST_")}
    env.update(PATH=str(ROOT / "no-such-folder"), **settings)
    return subprocess.run([sys.executable, "-m", "pytest", "tests/browser", "-q", "-p", "no:cacheprovider", "-rs"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_without_chromium_the_browser_suite_skips_with_the_reason():
    result = run_browser_suite_without_chromium()

    assert result.returncode == 0, result.stdout + result.stderr
    assert REASON in result.stdout
    assert " passed" not in result.stdout and " skipped" in result.stdout


def test_where_a_browser_is_required_its_absence_fails_the_run():
    result = run_browser_suite_without_chromium(EXPERT_PLATFORM_REQUIRE_BROWSER="1")

    assert result.returncode != 0
    assert REASON in result.stdout + result.stderr
    assert " passed" not in result.stdout
