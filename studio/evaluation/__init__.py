"""Judging models on the test split, and choosing where they reject.

``metrics`` (ROC/PR, AUROC, AP, confusion), ``intervals`` (Wilson and
Clopper–Pearson), ``operating`` (everything at one threshold, with warnings
in words), ``picker`` (cheapest point, recall and false-reject targets),
``band`` (cost with a review band), ``localisation`` (pixel AUROC and PRO
from anomaly maps and masks), ``choose`` (pick and save into the card),
``evaluate`` (score the test split with a model; the threshold is moved by
``studio.project.model_card.set_threshold``) and
``compare`` (two models on the same split). (``evaluate`` is not re-exported
here: it would shadow its own module, ``studio.evaluation.evaluate``.)
"""
