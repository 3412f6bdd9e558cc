"""Training: anomaly detection, classification, detection and segmentation, run in a worker subprocess.

Trainers are registered by task name and imported only when used, so
listing them never pays for torch. A trainer is
``train(project, options, report) -> card`` (see ``report.py``).
"""
from studio.core.registry import Registry

TRAINERS = Registry("trainer")
TRAINERS.register("anomaly", "studio.training.anomaly:train_anomaly")
TRAINERS.register("classification", "studio.training.classification:train_classification")
TRAINERS.register("detection", "studio.training.detection:train_detection")
TRAINERS.register("segmentation", "studio.training.segmentation:train_segmentation")
