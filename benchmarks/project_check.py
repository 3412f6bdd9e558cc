"""How long the file-by-file checks take on a large project, and what the stricter label parsing costs.

    PYTHONPATH=. python benchmarks/project_check.py [N_LABELS]

Writes a project with N label lines (a third with a box) and N/10 images'
records in a temporary folder, then times: opening the label log
(``LabelStore``, every line parsed and checked), ``check_all`` (every file),
and ``studio project check`` as a command.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(n: int = 100_000) -> None:
    from studio.labels.store import LabelStore
    from studio.project import Project, check_all

    with tempfile.TemporaryDirectory() as tmp:
        p = Project.create(Path(tmp) / "big", template="demo")
        with open(p.root / "labels.jsonl", "w") as f:
            for i in range(n):
                shapes = [{"type": "box", "class": "stain", "x": 1.0, "y": 2.0, "w": 3.0, "h": 4.0}] if i % 3 == 0 else []
                f.write(json.dumps({"image_id": f"img{i % (n // 4 or 1)}", "verdict": "ng" if shapes else "ok",
                                    "defect_class": "stain" if shapes else None, "labeler": f"l{i % 3}",
                                    "time": "2026-01-01T00:00:00", "criteria_version": 1, "kind": "label",
                                    "shapes": shapes, "rationale": "", "id": f"x{i}"}) + "\n")
        images = [{"id": f"img{i}", "file": "images/none.png", "split": "train"} for i in range(n // 10)]
        (p.root / "images" / "none.png").write_bytes(b"")
        (p.root / "dataset.json").write_text(json.dumps({"schema_version": 1, "images": images}))
        t = time.perf_counter()
        store = LabelStore(p.root)
        t_open = time.perf_counter() - t
        t = time.perf_counter()
        problems = check_all(p.root)
        t_check = time.perf_counter() - t
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "studio", "project", "check", str(p.root)], capture_output=True)
        t_cli = time.perf_counter() - t
        print(f"{n} label lines, {len(images)} image records")
        print(f"  open the label log (LabelStore): {t_open:.2f} s ({1e6 * t_open / n:.1f} us a line), "
              f"{len(store.history())} labels, {len(store.skipped)} skipped")
        print(f"  check_all (every file):          {t_check:.2f} s, {len(problems)} problems")
        print(f"  'studio project check':          {t_cli:.2f} s (exit {r.returncode})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
