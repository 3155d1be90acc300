"""Backends that break the API on purpose (see pyproject.toml)."""
