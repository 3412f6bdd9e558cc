from studio.project.project import Project, check, check_all  # noqa: F401
