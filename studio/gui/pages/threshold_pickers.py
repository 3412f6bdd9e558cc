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
        """The cheapest point; with a review cost, the cheapest threshold and review band."""
        from studio.evaluation.band import cheapest_band
        from studio.evaluation.picker import cheapest

        review = self.choose.review_cost_value()
        if review is None:
            return self._apply(cheapest, self.y, self.s, **self.choose.costs())
        try:
            chosen = cheapest_band(self.y, self.s, review_cost=review, **self.choose.costs())
        except Exception as e:  # a StudioError: the banner says what to do
            self.banner.show_error(str(e))
            return None
        self.banner.clear_message()
        self.band_upper = chosen["review_up_to"]
        self._show_band_box()
        self.set_threshold(chosen["threshold"], source="picker")
        self.chosen = chosen
        return chosen

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
        from studio.evaluation.band import cheapest_band, expected_cost

        k = int(np.argmin(np.round(c["cost_per_1000"], 9)))
        best = (float(c["threshold"][k]), float(c["cost_per_1000"][k]))
        self.cost_plot.set_curve(c["threshold"], c["cost_per_1000"], best)
        review = self.choose.review_cost_value()
        band = self.band_upper if review is not None else None
        here = expected_cost(self.y, self.s, self.threshold, band, review_cost=review or 0.0, **costs)
        text = (f"At this {'point' if band is None else 'threshold and band'}: {here:,.2f} per 1,000 parts. "
                f"Cheapest threshold: {best[1]:,.2f} at {best[0]:.4g}.")
        if review is not None:
            b = cheapest_band(self.y, self.s, review_cost=review, **costs)
            text += (f" Cheapest with reviews: {b['cost_per_1000']:,.2f}"
                     + (f" (band {b['threshold']:.4g} … {b['review_up_to']:.4g}, about "
                        f"{100 * b['review_share_on_line']:.1f} % of the parts reviewed)." if b["review_up_to"]
                        is not None else " (no band pays off)."))
        self.choose.show_cost(text)

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
