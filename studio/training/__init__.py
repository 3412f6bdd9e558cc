"""Training: anomaly detection, classification, detection and segmentation, run in a worker subprocess.

Trainers are registered by task name (from each task's description,
``studio.tasks``) and imported only when used, so listing them never pays
for torch. A trainer is
``train(project, options, report) -> card`` (see ``report.py``).
"""
from studio import tasks
from studio.core.registry import Registry

TRAINERS = Registry("trainer")
for _name in tasks.names():
    TRAINERS.register(_name, tasks.get(_name).trainer)
