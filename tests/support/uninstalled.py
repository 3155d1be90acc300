"""Make distributions unimportable in a plugin process, as in a slim image without them:
a ``sitecustomize`` on the process's ``PYTHONPATH`` whose import hook raises a real
``ModuleNotFoundError`` for the blocked top-level names (and, with ``record``, writes
each blocked name it was asked for to that file). The test process keeps its packages."""

from __future__ import annotations

import textwrap
from pathlib import Path


def site_without(directory: Path, blocked: tuple[str, ...], record: Path | None = None) -> dict[str, str]:
    """Write the ``sitecustomize`` into ``directory``; return the environment that applies it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(textwrap.dedent(
        f"""
        import sys

        class _Uninstalled:
            # Pretend these distributions are not installed in this process.
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {blocked!r}:
                    if {str(record) if record else None!r}:
                        with open({str(record) if record else None!r}, "a") as f:
                            f.write(name + "\\n")
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, _Uninstalled())
        """
    ))
    return {"PYTHONPATH": str(directory)}
