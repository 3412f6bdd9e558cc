"""The project folder: ``Project.open`` / ``Project.create``, validation that
names file, field and what to do (``check``), ``project.yaml``'s schema and
migrations (``schema``) and the project templates (``templates``).
"""
from studio.project.project import Project, check  # noqa: F401
