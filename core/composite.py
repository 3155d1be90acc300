"""Schemes made of other configurations (``fallback``), not storage systems.

A composite's options hold nested configurations, each a mapping with its own
``scheme``. It has no filesystem: it composes a store from the stores the plugin builds
for its parts, through the same function that builds every store (so each part passes
the operator's policy like any configuration).
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

from .options import Option, validate_options

if TYPE_CHECKING:
    from .store import Store

#: Builds the store of one nested configuration: ``build(mapping, where)``, where
#: ``where`` names the part in messages ("'primary' of scheme 'fallback'").
BuildStore = Callable[[Any, str], "Store"]


class Composite(abc.ABC):
    """A scheme whose store is composed of the stores of nested configurations."""

    #: The options this scheme accepts (nested configurations are ``Option(dict)``).
    option_spec: ClassVar[Mapping[str, Option]] = {}

    def __init__(self, scheme: str, options: Mapping[str, Any]) -> None:
        self.scheme = scheme
        self.options = validate_options(scheme, self.option_spec, options)

    @abc.abstractmethod
    def build_store(self, build: BuildStore) -> "Store":
        """Compose the store from the parts, each built with ``build``."""


def composite_problems(candidate: type) -> list[str]:
    """Why a :class:`Composite` subclass cannot serve its scheme; empty when it can."""
    missing = sorted(getattr(candidate, "__abstractmethods__", ()))
    return [f"{candidate.__name__} does not implement {', '.join(missing)}"] if missing else []
