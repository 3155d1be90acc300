"""Parse ``plugin.configuration``: YAML (so JSON too) holding ``scheme`` and options."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from .errors import BadConfiguration


@dataclass(frozen=True)
class PluginConfig:
    """One parsed configuration: which backend, with which options."""

    scheme: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def cache_key(self) -> str:
        """A stable text identifying this configuration, for caching backends."""
        return json.dumps([self.scheme, self.options], sort_keys=True, default=str)


def parse_configuration(text: str, default_scheme: str) -> PluginConfig:
    """Parse the configuration text of an artifact; raise :class:`BadConfiguration`.

    A configuration without ``scheme`` gets ``default_scheme`` (the operator's setting)."""
    try:
        data = yaml.safe_load(text) if text and text.strip() else {}
    except yaml.YAMLError as exc:
        raise BadConfiguration(f"plugin configuration is not valid YAML or JSON: {_where(exc)}") from None
    if data is None:
        data = {}
    return config_from_mapping(data, default_scheme)


def config_from_mapping(data: Any, default_scheme: str, where: str = "plugin configuration") -> PluginConfig:
    """Build a :class:`PluginConfig` from already-parsed data (also used for nested configs)."""
    if not isinstance(data, Mapping):
        raise BadConfiguration(
            f"{where} must be a mapping of options (like 'scheme: s3'), got {type(data).__name__}"
        )
    options = {str(k): v for k, v in data.items()}
    scheme = options.pop("scheme", default_scheme)
    if not isinstance(scheme, str) or not scheme.strip():
        raise BadConfiguration(f"'scheme' in {where} must be a non-empty string, got {scheme!r}")
    return PluginConfig(scheme=scheme.strip(), options=options)


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "cannot parse"
    if mark is None:
        return problem
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
