"""GenICam cameras (GigE Vision, USB3 Vision, ...) through harvesters: ``genicam:<producer.cti>[#serial]``.

The producer (.cti) is the vendor's GenTL driver. ``genicam:viky`` uses the
virtual "Viky" producer shipped in the genicam wheel: three simulated
cameras, handy for trying the studio without hardware.

One frame per ``grab``: when the camera has a software trigger (and the
settings do not choose a trigger mode themselves) each grab triggers one
exposure; otherwise the camera runs free and the stream keeps only the
newest frame, so a grab never returns a part that left the field of view
seconds ago.
"""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from studio.capture.camera import Camera, Frame, now
from studio.capture.pixel_formats import to_numpy
from studio.core.errors import CameraError

log = logging.getLogger(__name__)

PRODUCER_HINT = ("give the path of your camera vendor's GenTL producer (.cti file, installed with its SDK), "
                 "e.g. genicam:/opt/pylon/lib/gentlproducer/gtl/ProducerGEV.cti, or genicam:viky for a "
                 "virtual test camera")


def resolve_producer(path: str) -> Path:
    """The .cti file a spec names; ``viky`` is the virtual producer in the genicam wheel."""
    if path.strip().lower() == "viky":
        spec = importlib.util.find_spec("genicam")
        where = Path(spec.origin).parent if spec and spec.origin else None
        if where is None or not (where / "viky.cti").is_file():
            raise CameraError("the virtual 'viky' GenTL producer is not installed",
                              hint="install the 'genicam' Python package (pip install genicam)")
        return where / "viky.cti"
    cti = Path(path.strip()).expanduser()
    if not cti.is_file():
        raise CameraError("GenTL producer not found", file=cti, hint=PRODUCER_HINT)
    return cti


class GenICamCamera(Camera):
    def __init__(self, argument: str, settings: dict[str, Any] | None = None):
        super().__init__(f"genicam:{argument}")
        path, hash_, serial = argument.rpartition("#")
        if not hash_:
            path, serial = argument, ""
        self.producer = path.strip()
        self.serial = serial.strip() or None
        self.settings = dict(settings or {})
        self.unsupported: list[str] = []
        self.feature_errors: dict[str, str] = {}
        self._harvester: Any = None
        self._acquirer: Any = None
        self._device: dict[str, Any] = {}
        self._software_trigger = False

    # ---- open / close ---------------------------------------------------
    def open(self) -> None:
        if self.is_open:
            return
        cti = resolve_producer(self.producer)
        self._device = {"producer_file": str(cti)}
        try:
            from harvesters.core import Harvester
        except ImportError as e:
            raise CameraError(f"GenICam support is not installed ({e})",
                              hint="pip install harvesters genicam") from None
        self._harvester = Harvester()
        try:
            self._connect(cti)
        except BaseException:
            self._release()
            raise
        self.is_open = True

    def _connect(self, cti: Path) -> None:
        h = self._harvester
        try:
            h.add_file(str(cti), check_existence=True)
            h.update()
        except Exception as e:
            raise CameraError(f"the GenTL producer could not be loaded ({type(e).__name__}: {e})", file=cti,
                              hint="use the .cti matching this computer (64-bit, same OS); reinstall the "
                                   "camera SDK") from None
        devices = list(h.device_info_list)
        if not devices:
            raise CameraError(f"no camera found through the producer {cti.name}",
                              hint="check the camera's power and cable (GigE: same subnet as this PC), and "
                                   "close any other program using it (the vendor's viewer)")
        serials = [str(d.serial_number) for d in devices]
        if self.serial is not None and self.serial not in serials:
            raise CameraError(f"no camera with serial '{self.serial}' through {cti.name}",
                              hint=f"cameras found: {', '.join(serials)}; fix the serial after '#' in the spec")
        index = serials.index(self.serial) if self.serial is not None else 0
        d = devices[index]
        self._device |= {"model": d.model, "vendor": d.vendor, "serial": str(d.serial_number), "id": d.id_}
        try:
            self._acquirer = h.create(index)
        except Exception as e:
            raise CameraError(f"camera {d.model} #{d.serial_number} could not be opened ({e})",
                              hint="close other programs using the camera, or power-cycle it") from None
        nm = self._acquirer.remote_device.node_map
        self._apply_settings(nm)
        self._software_trigger = self._arm_software_trigger(nm)
        if not self._software_trigger:
            self._keep_newest_only()
        try:
            self._acquirer.start()
        except Exception as e:
            raise CameraError(f"camera {d.model} #{d.serial_number} would not start streaming ({e})",
                              hint="check camera.settings in the project; power-cycle the camera") from None

    def _apply_settings(self, nm: Any) -> None:
        # Before start: Width, Height, PixelFormat are locked while streaming.
        for name, value in self.settings.items():
            if not nm.has_node(name):
                self.unsupported.append(name)
                self.feature_errors[name] = "this camera has no such feature"
                continue
            try:
                getattr(nm, name).value = value
            except Exception as e:           # read-only, out of range, wrong type: report, never stop
                self.unsupported.append(name)
                self.feature_errors[name] = f"{type(e).__name__}: {e}".strip()
        if self.unsupported:
            log.warning("camera %s ignored settings: %s", self.spec, self.feature_errors)

    def _arm_software_trigger(self, nm: Any) -> bool:
        if "TriggerMode" in self.settings or not all(
                nm.has_node(n) for n in ("TriggerMode", "TriggerSource", "TriggerSoftware")):
            return False
        try:
            if nm.has_node("TriggerSelector"):
                nm.TriggerSelector.value = "FrameStart"
            nm.TriggerSource.value = "Software"
            nm.TriggerMode.value = "On"
            return True
        except Exception as e:
            log.info("camera %s: no software trigger (%s); running free", self.spec, e)
            try:
                nm.TriggerMode.value = "Off"
            except Exception:
                pass
            return False

    def _keep_newest_only(self) -> None:
        try:
            stream = self._acquirer.data_streams[0].node_map
            if stream.has_node("StreamBufferHandlingMode"):
                stream.StreamBufferHandlingMode.value = "NewestOnly"
        except Exception as e:     # an older producer: frames may lag by the queue length
            log.info("camera %s: cannot keep only the newest frame (%s)", self.spec, e)

    def close(self) -> None:
        self._release()
        self.is_open = False

    def _release(self) -> None:
        # Each step may fail on an unplugged camera; the rest must still run.
        for step in ("stop", "destroy"):
            try:
                if self._acquirer is not None:
                    getattr(self._acquirer, step)()
            except Exception as e:
                log.debug("camera %s: %s failed: %s", self.spec, step, e)
        self._acquirer = None
        if self._harvester is not None:
            try:
                self._harvester.reset()
            except Exception as e:
                log.debug("camera %s: harvester reset failed: %s", self.spec, e)
        self._harvester = None

    # ---- frames ---------------------------------------------------------
    def grab(self, timeout: float = 2.0) -> Frame:
        self._require_open()
        from genicam.gentl import TimeoutException

        name = f"{self._device.get('model')} #{self._device.get('serial')}"
        try:
            if self._software_trigger:
                self._acquirer.remote_device.node_map.TriggerSoftware.execute()
            with self._acquirer.fetch(timeout=timeout) as buffer:
                component = buffer.payload.components[0]
                fmt = str(component.data_format)
                # to_numpy copies: the buffer goes back to the driver when the with-block ends.
                image = to_numpy(component.data, int(component.width), int(component.height), fmt)
                frame_id, device_time = int(buffer.frame_id), int(buffer.timestamp)
        except TimeoutException:
            raise CameraError(f"no frame from camera {name} within {timeout:g} s",
                              hint="check power and cable; if the camera waits for a hardware trigger, "
                                   "set TriggerMode: Off in the camera settings") from None
        except CameraError:
            raise
        except Exception as e:
            raise CameraError(f"lost camera {name} ({type(e).__name__}: {e})",
                              hint="check power and cable, then open the camera again") from None
        meta = {"serial": self._device.get("serial"), "model": self._device.get("model"),
                "pixel_format": fmt, "device_timestamp": device_time}
        return Frame(image, frame_id, now(), meta)

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": "genicam", "producer": self.producer, **self._device,
                               "software_trigger": self._software_trigger,
                               "unsupported_features": list(self.unsupported),
                               "feature_errors": dict(self.feature_errors)}
        if self._acquirer is not None:
            nm = self._acquirer.remote_device.node_map
            for key, node in (("width", "Width"), ("height", "Height"), ("pixel_format", "PixelFormat")):
                try:
                    out[key] = getattr(nm, node).value
                except Exception:
                    out[key] = None
        return out
