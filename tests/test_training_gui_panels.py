"""Train page tabs: augmentation settings with a preview, and the bake-off table."""
import sys
from pathlib import Path

import pytest

import PySide6  # noqa: F401  a core dependency: a broken install fails, never skips
import torch  # noqa: F401  a core dependency: a broken install fails, never skips

sys.path.insert(0, str(Path(__file__).parent))
from test_training_support import make_shapes_project  # noqa: E402


@pytest.fixture
def project(tmp_path):
    return make_shapes_project(tmp_path / "p", n_train=8, n_test=4, masks=True)


def test_all_four_tasks_are_offered(qtbot, project):
    from studio.gui.pages.train import TrainPage

    page = TrainPage(project)
    qtbot.addWidget(page)
    keys = [page.task_combo.itemData(i) for i in range(page.task_combo.count())]
    assert keys == ["anomaly", "classification", "detection", "segmentation"]
    assert [page.tabs.tabText(i) for i in range(page.tabs.count())] == ["Training progress", "Augmentation", "Bake-off"]
    page.shutdown()


def test_augmentation_is_saved_and_previewed(qtbot, project):
    from studio.gui.pages.augmentation_panel import AugmentationPanel
    from studio.project import Project

    panel = AugmentationPanel(project)
    qtbot.addWidget(panel)
    panel.rotate.setValue(20)
    panel.noise.setValue(5)
    panel.synthetic.setCurrentIndex(panel.synthetic.findData("procedural"))
    panel.synthetic_count.setValue(10)
    panel.save()
    saved = Project.open(project.root).settings["training"]["augmentation"]
    assert saved["rotate"] == 20 and saved["noise"] == pytest.approx(0.05) and saved["synthetic"] == "procedural"
    panel.preview()
    qtbot.waitUntil(lambda: not panel.runner.is_running(), timeout=30_000)
    shown = [t for t in panel.thumbs if t.pixmap() is not None and not t.pixmap().isNull()]
    assert len(shown) == 8
    assert [t.toolTip() for t in panel.thumbs].count("synthetic") == 4
    assert "4 with synthetic defects" in panel.preview_status.text()
    panel.shutdown()


def test_bakeoff_table_fills_row_by_row(qtbot, project):
    from studio.gui.pages.bakeoff_panel import BakeoffPanel
    from studio.training.bakeoff import Candidate

    panel = BakeoffPanel(project)
    qtbot.addWidget(panel)
    panel.images.setValue(10)
    panel.run([Candidate("anomaly (ours)", "anomaly", {"coreset_ratio": 0.5}),
               Candidate("classification", "classification", {"epochs": 1})], in_process=True)
    qtbot.waitUntil(lambda: not panel.runner.is_running(), timeout=60_000)
    assert panel.table.rowCount() == 2
    assert panel.table.item(0, 0).text() == "anomaly (ours)"
    assert panel.table.item(1, 1).text().startswith("accuracy ")
    assert float(panel.table.item(0, 3).text()) > 0
    assert "Done: 8 training images, 4 test images" in panel.status.text()      # all 8 there are
    fresh = BakeoffPanel(project)           # a new page shows the last result
    qtbot.addWidget(fresh)
    fresh.refresh()
    assert fresh.table.rowCount() == 2
    panel.shutdown()
    fresh.shutdown()
