"""The project folder: ``Project.open`` / ``Project.create``, validation that
names file, field and what to do (``check``, and ``check_all`` for every file
of the project), ``project.yaml``'s schema and migrations (``schema``), the
station.yaml settings (``station_settings``), model cards (``model_card``) and
the project templates (``templates``).
"""
from studio.project.project import Project, check, check_all  # noqa: F401
