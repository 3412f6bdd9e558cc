"""Widgets shared by the pages and the kiosk."""
from studio.gui.widgets.errors import Banner, error_dialog  # noqa: F401
from studio.gui.widgets.image_view import ImageView, to_qimage  # noqa: F401
from studio.gui.widgets.task_runner import TaskRunner  # noqa: F401
