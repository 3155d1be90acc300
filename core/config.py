"""Parse ``plugin.configuration``: YAML (so JSON too) holding ``scheme`` and options.

The text is written by any workflow author, so parsing is bounded: the text has a size
cap, YAML anchors and aliases are refused (an alias "bomb" of a few hundred bytes
expands to gigabytes, and no Argo configuration needs them), and so is nesting deeper
than any configuration needs (the composer recurses once per level).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from .errors import BadConfiguration
from .units import KiB

#: Largest configuration text accepted by default (``ARGO_ARTIFACT_DRIVER_MAX_CONFIGURATION_BYTES``).
MAX_CONFIGURATION_BYTES = 64 * KiB
#: Deepest nesting of mappings and lists accepted (a fallback of fallbacks is 6 deep).
MAX_DEPTH = 32


@dataclass(frozen=True)
class PluginConfig:
    """One parsed configuration: which backend, with which options."""

    scheme: str
    options: Mapping[str, Any] = field(default_factory=dict)



def parse_configuration(text: str, default_scheme: str, max_bytes: int = MAX_CONFIGURATION_BYTES) -> PluginConfig:
    """Parse the configuration text of an artifact; raise :class:`BadConfiguration`.

    A configuration without ``scheme`` gets ``default_scheme`` (the operator's setting)."""
    data = load_yaml(text, "plugin configuration", max_bytes, BadConfiguration)
    return config_from_mapping({} if data is None else data, default_scheme)


def load_yaml(text: str, what: str, max_bytes: int, error: type[Exception] = BadConfiguration) -> Any:
    """Parse bounded YAML (or JSON): at most ``max_bytes``, no anchors or aliases, nesting
    at most :data:`MAX_DEPTH` deep. Problems raise ``error`` with one line naming ``what``."""
    # A text with more characters than the cap has at least as many bytes: it is refused
    # without being copied to be measured.
    size = len(text) if text and len(text) > max_bytes else len(text.encode("utf-8", "surrogatepass")) if text else 0
    if size > max_bytes:
        raise error(f"{what} is {size} bytes or more; the limit is {max_bytes} bytes")
    if not text or not text.strip():
        return None
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader subclass
    except _Refused as exc:
        raise error(f"{what} {exc}") from None
    except yaml.YAMLError as exc:
        raise error(f"{what} is not valid YAML or JSON: {_where(exc)}") from None


class _Refused(Exception):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors and aliases, with a nesting limit."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            mark = event.start_mark
            raise _Refused(
                f"uses a YAML anchor or alias (line {mark.line + 1}, column {mark.column + 1}); "
                "write the values out instead"
            )
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _Refused(f"is nested deeper than {MAX_DEPTH} levels")
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)


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
