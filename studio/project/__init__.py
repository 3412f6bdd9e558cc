from studio.project.project import Project, check  # noqa: F401
