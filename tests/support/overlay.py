"""Throwaway virtualenvs that see this environment minus some distributions.

Installing and uninstalling packages for real, without touching the environment the
tests run in, and without re-installing every dependency (tens of seconds): the new
virtualenv gets a ``.pth`` file that adds a *view* of this environment's site-packages
(a directory of symbolic links) in which the distributions under test are left out.
Packages installed into the virtualenv itself come first on ``sys.path``; ``pip
uninstall`` there removes them for real, and nothing shows through from here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence


class OverlayVenv:
    def __init__(self, path: Path, hide: Iterable[str]) -> None:
        self.path = path
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
        self.python = str(path / "bin" / "python")
        site_packages = Path(self.run_python("import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
        view = path / "project-site-packages"
        _link_view(view, Path(sysconfig.get_paths()["purelib"]), hidden=_entries_of(hide))
        # site.addsitedir (not a bare path line) so the .pth files in the view run too:
        # an editable install of argo-artifact-driver is found through one of them.
        (site_packages / "_project_view.pth").write_text(f"import site; site.addsitedir({str(view)!r})\n")

    def run(self, argv: Sequence[str], check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.python, *argv], capture_output=True, text=True, check=check, stdin=subprocess.DEVNULL, timeout=300
        )

    def run_python(self, code: str) -> str:
        return self.run(["-c", code], check=True).stdout

    def pip(self, *args: str) -> None:
        done = self.run(["-m", "pip", "--disable-pip-version-check", "--no-input", *args])
        assert done.returncode == 0, f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"

    def tools(self, *args: str) -> subprocess.CompletedProcess:
        """``argo-artifacts ARGS`` inside this virtualenv."""
        return self.run(["-m", "argo_artifact_driver.plugin_server.commands", *args])


def build_wheels(sources: Iterable[Path], out: Path) -> dict[str, Path]:
    """Wheels of local packages (built from copies, so no build/ appears in the tree)."""
    import shutil

    out.mkdir(parents=True, exist_ok=True)
    copies = []
    for src in sources:
        copy = out / "src" / src.name
        shutil.copytree(src, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        copies.append(str(copy))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-w", str(out), *copies],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300,
    )
    assert done.returncode == 0, f"building wheels failed:\n{done.stdout}\n{done.stderr}"
    return {metadata_name(w): w for w in out.glob("*.whl")}


def metadata_name(wheel: Path) -> str:
    return wheel.name.split("-")[0].replace("_", "-")


def _entries_of(distributions: Iterable[str]) -> set[str]:
    """Top-level site-packages entries owned by the installed ``distributions``."""
    owned = set()
    for name in distributions:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for file in dist.files or ():
            first = PurePosixPath(file).parts[0]
            if first != "..":  # console scripts live outside site-packages
                owned.add(first)
    return owned


def _link_view(view: Path, site_packages: Path, hidden: set[str]) -> None:
    view.mkdir()
    for entry in os.listdir(site_packages):
        if entry not in hidden and entry != "__pycache__":
            os.symlink(site_packages / entry, view / entry)
