"""The sign page's ink recorder (static/js/ink-recorder.js) under node's own test runner:
`node --test tests/pages/js/`, run from here so the README's pytest command runs it too.
Without node it skips, except under REQUIRE_BROWSER=1 or CI."""
import glob
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_ink_recorder_records_every_point_under_node():
    node = shutil.which("node")
    if not node:
        if os.environ.get("REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
            pytest.fail("node is not installed; the ink recorder's unit tests must run here")
        pytest.skip("node is not installed")
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "pages", "js", "*.test.js")))
    assert files
    run = subprocess.run([node, "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout
