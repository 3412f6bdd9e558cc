"""Cameras (``open_camera(spec)``) and capturing into a project (``capture_to_project``).

No Qt here: the GUI, the CLI and the station all use the same cameras.
"""
from studio.capture.acquire import capture_to_project  # noqa: F401
from studio.capture.camera import CAMERAS, Camera, Frame, open_camera, parse_spec  # noqa: F401
