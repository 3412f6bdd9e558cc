"""Inspection Studio: from a bare camera to a running inspection station."""

__version__ = "0.1.0"
