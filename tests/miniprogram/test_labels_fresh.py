"""The mini-program's copy of the vocabulary (miniprogram/utils/labels.js) is what
miniprogram/tools/gen_labels.py makes from core/vocabulary.py now."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_mini_programs_labels_are_generated_from_the_vocabulary():
    result = subprocess.run([sys.executable, str(ROOT / "miniprogram" / "tools" / "gen_labels.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
