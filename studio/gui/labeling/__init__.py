"""Labeling widgets: the drawing canvas, the criteria panel, the review queue, agreement and readiness, the criteria editor."""
