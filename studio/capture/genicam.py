"""GenICam cameras (GigE Vision, USB3 Vision, ...) through harvesters: ``genicam:<producer.cti>[#serial]``.

The producer (.cti) is the vendor's GenTL driver. ``genicam:viky`` uses the
virtual "Viky" producer shipped in the genicam wheel: three simulated
cameras, handy for trying the studio without hardware.

One frame per ``grab``. The trigger mode is the studio setting ``trigger``
in the camera settings: ``software`` (each grab triggers one exposure; the
default when the camera has a software trigger), ``free`` (the camera runs
free and the stream keeps only the newest frame, so a grab never returns a
part that left the field of view seconds ago) or ``hardware`` (the camera
waits for its trigger input, ``TriggerSource`` e.g. Line0; a grab returns the
next triggered frame). Other settings are GenICam feature names
(``studio.capture.features``); ones the camera lacks are reported in
``info()["unsupported_features"]``, never raised.

``stats()`` counts frames, incomplete buffers the driver discarded, frames
dropped (gaps in the camera's frame ids when triggered; in free-run the
skipped ones are counted as ``skipped``, by design) and timeouts.
"""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from studio.capture.camera import Camera, Frame, now
from studio.capture.features import LOCKED_WHILE_STREAMING, read_features, write_feature
from studio.capture.pixel_formats import to_numpy
from studio.core.errors import CameraError, CameraTimeout

log = logging.getLogger(__name__)

TRIGGER_MODES = ("software", "free", "hardware")
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


def list_producers() -> list[dict[str, str]]:
    """GenTL producers installed here: the .cti files on GENICAM_GENTL64_PATH (the standard variable
    camera SDKs set) and the virtual ``viky``; each with the spec prefix to use."""
    import os

    found: list[dict[str, str]] = []
    for var in ("GENICAM_GENTL64_PATH", "GENICAM_GENTL32_PATH"):
        for folder in filter(None, os.environ.get(var, "").split(os.pathsep)):
            for cti in sorted(Path(folder).glob("*.cti")) if Path(folder).is_dir() else []:
                if not any(f["path"] == str(cti) for f in found):
                    found.append({"name": cti.stem, "path": str(cti), "producer": str(cti),
                                  "spec": f"genicam:{cti}"})
    try:
        found.append({"name": "viky (virtual test cameras)", "path": str(resolve_producer("viky")),
                      "producer": "viky", "spec": "genicam:viky"})
    except CameraError:
        pass
    return found


def list_devices(producer: str) -> list[dict[str, Any]]:
    """The cameras a producer (.cti path or ``viky``) sees: serial, model, vendor, id, and the spec to open each."""
    cti = resolve_producer(producer)
    try:
        from harvesters.core import Harvester
    except ImportError as e:
        raise CameraError(f"GenICam support is not installed ({e})", hint="pip install harvesters genicam") from None
    h = Harvester()
    try:
        h.add_file(str(cti), check_existence=True)
        h.update()
        return [{"serial": str(d.serial_number), "model": d.model, "vendor": d.vendor, "id": d.id_,
                 "spec": f"genicam:{producer}#{d.serial_number}"} for d in h.device_info_list]
    except Exception as e:
        raise CameraError(f"the GenTL producer could not be loaded ({type(e).__name__}: {e})", file=cti,
                          hint="use the .cti matching this computer (64-bit, same OS)") from None
    finally:
        h.reset()


def new_stats() -> dict[str, Any]:
    return {"frames": 0, "incomplete": 0, "dropped": 0, "skipped": 0, "timeouts": 0,
            "last_frame_id": None, "last_timestamp": None, "fps": None}


class GenICamCamera(Camera):
    def __init__(self, argument: str, settings: dict[str, Any] | None = None):
        super().__init__(f"genicam:{argument}")
        path, hash_, serial = argument.rpartition("#")
        if not hash_:
            path, serial = argument, ""
        self.producer = path.strip()
        self.serial = serial.strip() or None
        self.settings = dict(settings or {})
        self.trigger = str(self.settings.pop("trigger", "") or "").lower() or None
        if self.trigger is not None and self.trigger not in TRIGGER_MODES:
            raise CameraError(f"trigger mode '{self.trigger}' is not known", field="camera.settings.trigger",
                              hint="use one of: " + ", ".join(TRIGGER_MODES))
        self._stats = new_stats()
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
        self._software_trigger = False
        if self.trigger == "hardware":
            self._arm_hardware_trigger(nm)
        elif self.trigger != "free":
            self._software_trigger = self._arm_software_trigger(nm)
            if self.trigger == "software" and not self._software_trigger:
                raise CameraError(f"camera {d.model} #{d.serial_number} has no software trigger",
                                  field="camera.settings.trigger", hint="set trigger: free (or hardware)")
        elif all(nm.has_node(n) for n in ("TriggerMode",)):
            write_feature(nm, "TriggerMode", "Off")
        self.mode = "software" if self._software_trigger else (self.trigger or "free")
        if self.mode == "free":
            self._keep_newest_only()
        self._watch_incomplete()
        self._stats = new_stats()
        try:
            self._acquirer.start()
        except Exception as e:
            raise CameraError(f"camera {d.model} #{d.serial_number} would not start streaming ({e})",
                              hint="check camera.settings in the project; power-cycle the camera") from None

    def _apply_settings(self, nm: Any) -> None:
        # Before start: Width, Height, PixelFormat are locked while streaming.
        self.unsupported, self.feature_errors = [], {}
        for name, value in self.settings.items():
            ok, why = write_feature(nm, name, value)      # read-only, out of range, missing: report, never stop
            if not ok:
                self.unsupported.append(name)
                self.feature_errors[name] = why
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

    def _arm_hardware_trigger(self, nm: Any) -> None:
        if not nm.has_node("TriggerMode"):
            raise CameraError("this camera has no trigger input (no TriggerMode feature)",
                              field="camera.settings.trigger", hint="set trigger: free or software")
        if nm.has_node("TriggerSelector"):
            write_feature(nm, "TriggerSelector", "FrameStart")
        if "TriggerSource" not in self.settings and nm.has_node("TriggerSource"):
            write_feature(nm, "TriggerSource", "Line0")
        ok, why = write_feature(nm, "TriggerMode", "On")
        if not ok:
            raise CameraError(f"the camera refused hardware triggering ({why})", field="camera.settings.trigger",
                              hint="check TriggerSource (e.g. Line0) in the camera settings")

    def _watch_incomplete(self) -> None:
        try:
            from harvesters.core import ImageAcquirer

            def count(*_: Any) -> None:
                self._stats["incomplete"] += 1
                log.warning("camera %s: incomplete frame discarded (%d so far)", self.spec,
                            self._stats["incomplete"])

            self._acquirer.add_callback(ImageAcquirer.Events.INCOMPLETE_BUFFER, count)
        except Exception as e:   # an older harvesters: no count, frames still flow
            log.debug("camera %s: cannot count incomplete frames (%s)", self.spec, e)

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
            self._stats["timeouts"] += 1
            raise CameraTimeout(f"no frame from camera {name} within {timeout:g} s",
                              hint="check power and cable; if the camera waits for a hardware trigger, "
                                   "set TriggerMode: Off in the camera settings") from None
        except CameraError:
            raise
        except Exception as e:
            raise CameraError(f"lost camera {name} ({type(e).__name__}: {e})",
                              hint="check power and cable, then open the camera again") from None
        t = now()
        st = self._stats
        gap = 0 if st["last_frame_id"] is None else max(0, frame_id - st["last_frame_id"] - 1)
        st["skipped" if self.mode == "free" else "dropped"] += gap
        if gap and self.mode != "free":
            log.warning("camera %s: %d frame(s) dropped before frame %d (%d in all)", self.spec, gap, frame_id,
                        st["dropped"])
        if st["last_timestamp"] is not None and t > st["last_timestamp"]:
            rate = 1.0 / (t - st["last_timestamp"])
            st["fps"] = round(rate if st["fps"] is None else 0.8 * st["fps"] + 0.2 * rate, 2)
        st["frames"] += 1
        st["last_frame_id"], st["last_timestamp"] = frame_id, t
        meta = {"serial": self._device.get("serial"), "model": self._device.get("model"),
                "pixel_format": fmt, "device_timestamp": device_time, "trigger": self.mode,
                "dropped_before": gap if self.mode != "free" else 0}
        return Frame(image, frame_id, t, meta)

    def ping(self) -> None:
        """A feature read: ``CameraError`` when the camera does not answer (lost, not just untriggered)."""
        self._require_open()
        name = f"{self._device.get('model')} #{self._device.get('serial')}"
        try:
            nm = self._acquirer.remote_device.node_map
            node = next((n for n in ("TriggerMode", "DeviceTemperature", "Width") if nm.has_node(n)), None)
            if node is not None:        # SFNC makes Width mandatory; a camera with none has nothing to ask
                _ = getattr(nm, node).value
        except Exception as e:
            raise CameraError(f"camera {name} does not answer a feature read ({type(e).__name__}: {e})",
                              hint="check power and cable, then open the camera again") from None

    # ---- features and counters ------------------------------------------
    def stats(self) -> dict[str, Any]:
        return dict(self._stats)

    def features(self) -> dict[str, dict[str, Any]]:
        """The standard features: available / writable / value / range, for the GUI's controls."""
        self._require_open()
        return read_features(self._acquirer.remote_device.node_map)

    def set_feature(self, name: str, value: Any) -> tuple[bool, str]:
        """Write one feature now; (ok, why not). Width, PixelFormat, ... stop the stream for the change."""
        self._require_open()
        nm = self._acquirer.remote_device.node_map
        if name not in LOCKED_WHILE_STREAMING:
            ok, why = write_feature(nm, name, value)
        else:
            self._acquirer.stop()
            try:
                ok, why = write_feature(nm, name, value)
            finally:
                self._acquirer.start()
                self._stats["last_frame_id"] = None
        if ok:
            self.settings[name] = value
        return ok, why

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": "genicam", "producer": self.producer, **self._device,
                               "software_trigger": self._software_trigger,
                               "trigger": getattr(self, "mode", None), "stats": self.stats(),
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
