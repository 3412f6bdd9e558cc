"""The Threshold page's pickers, cost read-out and review band (a mixin of ``ThresholdPage``).

Each picker asks ``studio.evaluation.picker`` and moves the one operating
point; a picker's mistake (e.g. a recall target without defective test
parts) shows in the page's banner, never as a dialog storm.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from studio.gui.pages.threshold_point import pct


class PickerMixin:
    """Needs ``y``, ``s``, ``classes``, ``choose``, ``banner``, ``cost_plot``, ``spin``, ``point``,
    ``threshold``, ``band_upper``, ``chosen``, ``set_threshold`` and ``_critical`` on the page."""

    def _apply(self, fn, *args, **kwargs) -> dict[str, Any] | None:
        from studio.core.errors import StudioError

        try:
            chosen = fn(*args, **kwargs)
        except StudioError as e:
            self.banner.show_error(str(e))
            return None
        self.banner.clear_message()
        self.set_threshold(chosen["threshold"], source="picker")
        self.chosen = chosen
        return chosen

    def pick_cheapest(self) -> dict[str, Any] | None:
        from studio.evaluation.picker import cheapest

        return self._apply(cheapest, self.y, self.s, **self.choose.costs())

    def pick_recall_target(self, target: float, critical_only: bool = False) -> dict[str, Any] | None:
        from studio.evaluation.picker import for_recall_target

        only = sorted(self._critical()) if critical_only else None
        if critical_only and not only:
            self.banner.show_error("The acceptance criteria mark no defect class critical. Set a class's "
                                   "severity to critical, or untick 'critical defect classes only'.")
            return None
        chosen = self._apply(for_recall_target, self.y, self.s, target, classes=self.classes, only=only)
        if chosen:
            self.choose.show_evidence(f"Recall target {pct(target)}: {chosen['evidence']}.")
        return chosen

    def pick_false_reject_target(self, target: float) -> dict[str, Any] | None:
        from studio.evaluation.picker import for_false_reject_target

        return self._apply(for_false_reject_target, self.y, self.s, target)

    def _update_cost(self) -> None:
        from studio.core.errors import StudioError
        from studio.evaluation.picker import cost_curve

        if not len(self.s) or self.threshold is None:
            return
        costs = self.choose.costs()
        try:
            c = cost_curve(self.y, self.s, **costs)
        except StudioError as e:
            self.cost_plot.set_curve([], [], None)
            self.choose.show_cost(str(e).split("\n")[0])
            return
        k = int(np.argmin(np.round(c["cost_per_1000"], 9)))
        best = (float(c["threshold"][k]), float(c["cost_per_1000"][k]))
        self.cost_plot.set_curve(c["threshold"], c["cost_per_1000"], best)
        p = self.point or {}
        here = 1000.0 * (costs["defect_rate"] * (1 - (p.get("recall") or 0.0)) * costs["escape_cost"]
                         + (1 - costs["defect_rate"]) * (p.get("false_reject_rate") or 0.0)
                         * costs["false_reject_cost"])
        self.choose.show_cost(f"At this threshold: {here:,.2f} per 1,000 parts. Cheapest: {best[1]:,.2f} "
                              f"at threshold {best[0]:.4g}.")

    # ---- review band ----------------------------------------------------------------
    def suggest_band(self, recall_target: float, false_reject_target: float) -> tuple[float, float] | None:
        """Threshold from the recall target, band up to the false-reject target's threshold."""
        from studio.core.errors import StudioError
        from studio.evaluation.picker import review_band_for

        try:
            low, high = review_band_for(self.y, self.s, recall_target, false_reject_target)
        except StudioError as e:
            self.banner.show_error(str(e))
            return None
        self.banner.clear_message()
        self.band_upper = high if high > low else None
        self._show_band_box()
        self.set_threshold(low, source="picker")
        self.chosen = {"how": "review_band_targets", "recall_target": recall_target,
                       "false_reject_target": false_reject_target, "threshold": low}
        return low, high

    def _show_band_box(self) -> None:
        self.choose.set_band(self.band_upper, decimals=self.spin.decimals(), lo=self.spin.minimum(),
                             hi=self.spin.maximum())

    def _band_changed(self, on: bool, upper: float) -> None:
        self.band_upper = upper if on else None
        if self.threshold is not None:
            self.set_threshold(self.threshold, source="band")

    def _band_line_moved(self, upper: float) -> None:
        if self._updating or self.band_upper is None:
            return
        self.band_upper = upper
        self._show_band_box()
        self._band_changed(True, upper)
