"""A broken install must fail, not skip half the suite: no test importorskips a core dependency."""
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# the import names of pyproject's [project] dependencies, and pytest-qt of the dev extra (the GUI tests' driver)
CORE = {"numpy", "yaml", "cv2", "PySide6", "pyqtgraph", "harvesters", "genicam", "torch", "torchvision", "timm",
        "onnx", "onnxscript", "onnxruntime", "pymodbus", "asyncua", "argon2", "ultralytics", "pytestqt"}


def test_no_test_skips_when_a_core_dependency_is_missing():
    found = []
    for path in sorted(TESTS.glob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in re.findall(r"importorskip\(\s*['\"]([\w.]+)['\"]", line):
                if name.split(".")[0] in CORE:
                    found.append(f"{path.name}:{n}: {name}")
    assert not found, "import core dependencies plainly (a broken install must fail):\n" + "\n".join(found)
