"""Judge the measures against the limits; say what to do in a line engineer's words.

Each check gives ``value`` (the headline number), ``limit`` (a number, or
[low, high]), ``passed`` (True, False, or None when it could not be
measured, e.g. stability from a single frame) and ``advice`` (empty when it
passed). ``measures`` holds the details behind the value.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MIN_DEFECT_EXAMPLES = 3
CHECK_NAMES = ("exposure", "uniformity", "focus", "noise", "stability", "glare", "defect_contrast")


@dataclass
class Check:
    name: str
    value: float | None
    limit: Any
    passed: bool | None
    advice: str = ""
    unit: str = ""
    measures: dict[str, Any] = field(default_factory=dict)
    baseline: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if isinstance(d["value"], float):
            d["value"] = round(d["value"], 4)
        return d

    @property
    def status(self) -> str:
        return "skipped" if self.passed is None else ("pass" if self.passed else "fail")


def _r(x: float, n: int = 2) -> float:
    return round(float(x), n)


def judge_exposure(m: dict[str, float], lim: dict[str, float]) -> Check:
    lo, hi = lim["mean_min"], lim["mean_max"]
    problems = []
    if m["mean"] < lo:
        problems.append(f"the image is too dark (mean level {m['mean']:.0f}, want {lo:.0f}..{hi:.0f}): "
                        "raise the exposure time or the lamp's intensity; raise gain only as a last resort, "
                        "it adds noise")
    if m["mean"] > hi:
        problems.append(f"the image is too bright (mean level {m['mean']:.0f}, want {lo:.0f}..{hi:.0f}): "
                        "lower the exposure time or gain, or dim the lamp")
    if m["clipped_bright"] > lim["clipped_bright_max"]:
        problems.append(f"{m['clipped_bright'] * 100:.1f}% of the pixels are clipped white "
                        f"(limit {lim['clipped_bright_max'] * 100:.1f}%): the scene is over-exposed; reduce the "
                        "exposure time or gain until the brightest surface stays below full scale")
    elif m.get("overexposed", 0) >= 0.5 and m["clipped_bright"] > lim["clipped_bright_max"] / 10:
        # little clipping, but all over the view on a scene with no headroom: over-exposure, not glare
        problems.append(f"the highlights clip all over the view ({m['clipped_bright'] * 100:.2f}% of the pixels in "
                        f"{m.get('clipped_spread', 0) * 100:.0f}% of the field; the rest reaches "
                        f"{m.get('scene_top', 0) * 100:.0f}% of full scale): the scene is over-exposed; reduce the "
                        "exposure time or gain")
    if m["clipped_dark"] > lim["clipped_dark_max"]:
        problems.append(f"{m['clipped_dark'] * 100:.1f}% of the pixels are crushed black "
                        f"(limit {lim['clipped_dark_max'] * 100:.1f}%): raise the exposure or add fill light; "
                        "look for shadows cast by fixtures")
    return Check("exposure", m["mean"], [lo, hi], not problems, "; ".join(problems).capitalize(), "gray level",
                 {k: _r(v, 4) for k, v in m.items()})


def judge_uniformity(m: dict[str, Any], lim: dict[str, float]) -> Check:
    u = m["uniformity"]
    ok = u >= lim["min"]
    advice = ""
    if not ok:
        where = m.get("darkest", "")
        fall = (1 - u) * 100
        if where == "corners":
            advice = (f"The light falls off by {fall:.0f}% towards the corners: use a larger or ring/dome light, "
                      "move it further away, or stop the lens down one step (vignetting)")
        else:
            advice = (f"The light falls off by {fall:.0f}% towards the {where}: the lamp lights one side; "
                      "re-aim it, add a second light on the dark side, or use a diffuse dome or flat light "
                      "that covers the whole field")
    return Check("uniformity", u, lim["min"], ok, advice, "darkest/brightest",
                 {"darkest": m.get("darkest"), "coefficients": m.get("coefficients")})


def judge_focus(m: dict[str, float], lim: dict[str, float], baseline: dict[str, Any] | None) -> Check:
    score = m["score"]
    base = (baseline or {}).get("focus")
    if base:
        limit = round(base * lim["baseline_ratio_min"], 4)
        ok = score >= limit
        why = f"{score / base * 100:.0f}% of the baseline's sharpness"
    else:
        # no baseline (a new station): the noise-proof detail score against an absolute limit
        # set from real images (benchmarks/focus_detection.py); the re-blur score takes noise for detail
        score = m.get("detail", score)
        limit = lim["score_min"]
        ok = score >= limit
        why = f"edge detail {score:.2f}, limit {limit:.2f} for a scene in focus"
    advice = "" if ok else (f"The image is soft ({why}): refocus the lens and lock its focus ring, check the "
                            "working distance; stop down for more depth of field; for moving parts shorten "
                            "the exposure (motion blur) and add light to make up for it")
    return Check("focus", score, limit, ok, advice, "sharpness 0..1", {k: _r(v, 4) for k, v in m.items()},
                 baseline=base)


def judge_noise(m: dict[str, Any], lim: dict[str, float]) -> Check:
    sigma = m["sigma"]
    ok = sigma <= lim["sigma_max"]
    if not ok and m.get("method") == "spatial":
        # one frame, or the part moved: the spatial estimate is an upper bound that also counts
        # surface texture; under the limit it proves the noise low, over it it proves nothing
        return Check("noise", sigma, lim["sigma_max"], None, "", "gray levels (sigma)",
                     {**m, "why": f"the spatial estimate ({sigma:.1f}) includes surface texture and the scene "
                                  "moved between frames (or there was one frame); audit with the part standing "
                                  "still to measure the noise"})
    advice = "" if ok else (f"The image is noisy (sigma {sigma:.1f} gray levels, limit {lim['sigma_max']:.1f}): "
                            "add light and lower the gain; if the parts stand still, a longer exposure; "
                            "check the camera's temperature and grounding")
    return Check("noise", sigma, lim["sigma_max"], ok, advice, "gray levels (sigma)", m)


def judge_stability(m: dict[str, float] | None, lim: dict[str, float]) -> Check:
    if m is None:
        return Check("stability", None, lim["flicker_pct_max"], None,
                     "", "% of level", {"why": "needs 3 frames or more"})
    problems = []
    if m["flicker_pct"] > lim["flicker_pct_max"]:
        problems.append(f"the brightness jumps {m['flicker_pct']:.1f}% from frame to frame "
                        f"(limit {lim['flicker_pct_max']:.1f}%): lamps on mains power flicker at twice the "
                        "mains frequency; check the lamp frequency and use a DC or high-frequency LED driver, "
                        "or set the exposure to a multiple of 10 ms (50 Hz) or 8.33 ms (60 Hz); enclose the "
                        "station against ambient light")
    if m["drift_pct"] > lim["drift_pct_max"]:
        problems.append(f"the brightness drifts {m['drift_pct']:.1f}% over the audit "
                        f"(limit {lim['drift_pct_max']:.1f}%): a lamp warming up or failing, or daylight; "
                        "let LEDs warm up, replace an ageing lamp, shield the station from windows")
    value = max(m["flicker_pct"], m["drift_pct"])
    return Check("stability", value, lim["flicker_pct_max"], not problems, "; ".join(problems).capitalize(),
                 "% of level", {k: _r(v, 3) for k, v in m.items()})


def judge_glare(m: dict[str, float], lim: dict[str, float]) -> Check:
    pct = m["area_pct"]
    ok = pct <= lim["area_pct_max"]
    advice = "" if ok else (f"Specular hot spots cover {pct:.2f}% of the view (limit {lim['area_pct_max']:.2f}%): "
                            "for shiny parts use a diffuse dome or coaxial light, move the lamp out of the "
                            "camera's mirror angle, or add a polariser on the lamp and a crossed one on the lens")
    return Check("glare", pct, lim["area_pct_max"], ok, advice, "% of area", {k: _r(v, 4) for k, v in m.items()})


def judge_defect_contrast(m: dict[str, Any] | None, lim: dict[str, float]) -> Check:
    if m is None:
        return Check("defect_contrast", None, lim["cnr_min"], None, "", "contrast-to-noise",
                     {"why": "no labelled defect examples with a mask"})
    cnr = m["cnr"]
    if m.get("examples", 0) < MIN_DEFECT_EXAMPLES or not m.get("judged_classes", 1):
        return Check("defect_contrast", cnr, lim["cnr_min"], None, "", "contrast-to-noise",
                     {**m, "why": f"{m.get('examples', 0)} defect example(s), fewer than 2 of any one class: "
                                  f"too few to judge; audit with {MIN_DEFECT_EXAMPLES} or more labelled defects "
                                  "of a class in view"})
    ok = cnr >= lim["cnr_min"]
    weak = [c for c, v in (m.get("per_class") or {}).items() if v < lim["cnr_min"]]
    advice = "" if ok else (f"Defects barely stand out (contrast-to-noise {cnr:.1f}, limit {lim['cnr_min']:.1f}"
                            + (f"; weakest: {', '.join(weak)}" if weak else "") + "): "
                            "the lighting type does not suit them; low-angle (dark-field) light for scratches "
                            "and dents, diffuse dome light for stains and colour, backlight for edges, holes "
                            "and dimensions")
    return Check("defect_contrast", cnr, lim["cnr_min"], ok, advice, "contrast-to-noise", m)
