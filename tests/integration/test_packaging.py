"""The package as users install it: the Dockerfile's recipe, run without Docker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

RECIPE = Path(__file__).parents[1] / "support" / "docker_recipe.sh"


RUNTIME_PYTHON = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture
def world_readable_dir():
    # pytest's tmp_path lives under a 0700 directory the image's user could not enter
    path = Path(tempfile.mkdtemp(prefix="recipe-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.timeout(2400)
@pytest.mark.skipif(os.geteuid() != 0, reason="creating the image's non-root user needs root (CI runs as root)")
@pytest.mark.skipif(not os.path.exists(RUNTIME_PYTHON), reason=f"needs a world-readable {RUNTIME_PYTHON}")
def test_dockerfile_recipe_runs_as_non_root_from_wheels(world_readable_dir):
    """Wheels built, installed into a fresh venv with no index, served as uid 8737 with an
    unwritable HOME from another directory, round trip under /tmp, SIGTERM exits 0."""
    result = subprocess.run(
        ["bash", str(RECIPE), str(world_readable_dir)], capture_output=True, text=True, timeout=2000,
        env={**os.environ, "PYTHON": sys.executable, "RUNTIME_PYTHON": RUNTIME_PYTHON},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "recipe ok" in result.stdout
    server_log = (world_readable_dir / "server.log").read_text()
    assert '"outcome":"ok"' in server_log and "Traceback" not in server_log


def test_dockerfile_matches_the_recipe():
    """The recipe script and the Dockerfile install the same way."""
    dockerfile = (Path(__file__).parents[2] / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["argo-artifact-driver"]' in dockerfile
    assert "USER 8737" in dockerfile and "chmod 1777 /tmp" in dockerfile
    assert "pip wheel" in dockerfile and "--no-index --find-links /wheels" in dockerfile
    recipe = RECIPE.read_text()
    # the image carries the workflow-pod policy and names it; the recipe checks that file
    assert "COPY examples/policies/workflow-pod.yaml /etc/argo-artifact-driver/policy.yaml" in dockerfile
    assert "ARGO_ARTIFACT_DRIVER_POLICY=/etc/argo-artifact-driver/policy.yaml" in dockerfile
    assert 'cp "$repo/examples/policies/workflow-pod.yaml"' in recipe
