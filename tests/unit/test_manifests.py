"""The shipped manifests (every YAML file in examples/) are valid, strictly.

* Kubernetes objects against Kubernetes' own OpenAPI schemas, in their strict form (no
  field the API does not define), as ``kubernetes-validate`` ships them.
* Argo objects (``argoproj.io``) against Argo's models as ``hera`` ships them (generated
  from Argo's OpenAPI spec), made strict the same way; ``IntOrString`` fields must be
  strings, as Argo's published JSON schema (``api/jsonschema/schema.json``) declares them,
  so that editors validating with that schema accept the files too.
* Argo's configuration inside ConfigMaps: the controller's ``artifactDrivers`` entries
  against ``config.ArtifactDriver`` (``config/config.go``: ``name``, ``image``,
  ``connectionTimeoutSeconds``), its ``executor`` as a Kubernetes container, and every
  entry of an ``artifact-repositories`` ConfigMap as Argo's ``ArtifactRepository``.
* A strategic-merge patch (no ``kind``) applied to the object it patches, then validated.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

jsonschema = pytest.importorskip("jsonschema")
kubernetes_validate = pytest.importorskip("kubernetes_validate")
hera_models = pytest.importorskip("hera.workflows.models")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: The Kubernetes version the manifests are checked against (Argo v4.1 supports 1.31+).
KUBERNETES_VERSION = "1.33"

#: What a patch file patches: the argo-server Deployment as Argo's own manifests define it
#: (manifests/base/argo-server/argo-server-deployment.yaml, the fields a patch meets).
ARGO_SERVER = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "argo-server", "namespace": "argo"},
    "spec": {
        "selector": {"matchLabels": {"app": "argo-server"}},
        "template": {
            "metadata": {"labels": {"app": "argo-server"}},
            "spec": {
                "serviceAccountName": "argo-server",
                "containers": [{
                    "name": "argo-server", "image": "quay.io/argoproj/argocli:v4.1.2", "args": ["server"],
                    "securityContext": {"readOnlyRootFilesystem": True, "runAsNonRoot": True,
                                        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    "ports": [{"name": "web", "containerPort": 2746}],
                    "volumeMounts": [{"mountPath": "/tmp", "name": "tmp"}],
                }],
                "volumes": [{"name": "tmp", "emptyDir": {}}],
                "securityContext": {"runAsNonRoot": True},
                "nodeSelector": {"kubernetes.io/os": "linux"},
            },
        },
    },
}
PATCH_TARGETS = {"argo-server-sidecar-patch.yaml": ARGO_SERVER}

#: Files that fail today, and why (each is someone's open work, not a reason to relax the check).
EXPECTED_FAILURES: dict[str, str] = {}

#: config.ArtifactDriver's fields (config/config.go), and those it cannot do without.
ARTIFACT_DRIVER_FIELDS = {"name", "image", "connectionTimeoutSeconds"}
ARTIFACT_DRIVER_REQUIRED = {"name", "image"}


def documents(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        yield from (doc for doc in yaml.safe_load_all(f) if doc is not None)


def problems_of(path: Path) -> list[str]:
    """Everything wrong with the YAML file at ``path``, one line each."""
    problems = []
    for number, doc in enumerate(documents(path), start=1):
        where = f"{path.name} document {number}"
        if "kind" not in doc:
            target = PATCH_TARGETS.get(path.name)
            if target is None:
                problems.append(f"{where}: neither an object (no 'kind') nor a known patch")
                continue
            doc = strategic_merge(copy.deepcopy(target), doc)
        problems += [f"{where} ({doc.get('kind')} {doc.get('metadata', {}).get('name')}): {p}" for p in check(doc)]
    return problems


def check(doc: dict[str, Any]) -> list[str]:
    if doc.get("apiVersion", "").startswith("argoproj.io/"):
        model = getattr(hera_models, doc["kind"], None)
        return argo_problems(model, doc) if model else [f"no Argo model for kind {doc['kind']}"]
    problems = kubernetes_problems(doc)
    if doc.get("kind") == "ConfigMap":
        problems += argo_config_problems(doc)
    return problems


def kubernetes_problems(doc: dict[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(map(str, exc.path)) or '(top)'}: {exc.message}"]
    return []


def argo_config_problems(configmap: dict[str, Any]) -> list[str]:
    """Argo's configuration carried as YAML text in a ConfigMap's data."""
    data = configmap.get("data") or {}
    annotations = configmap.get("metadata", {}).get("annotations") or {}
    problems = []
    if configmap["metadata"].get("name") == "workflow-controller-configmap":
        for i, driver in enumerate(yaml.safe_load(data.get("artifactDrivers", "[]")) or []):
            unknown = set(driver) - ARTIFACT_DRIVER_FIELDS
            missing = ARTIFACT_DRIVER_REQUIRED - set(driver)
            if unknown or missing:
                problems.append(f"artifactDrivers[{i}]: unknown {sorted(unknown)}, missing {sorted(missing)}")
        if "executor" in data:  # a Kubernetes container without a name
            executor = {"name": "executor", **yaml.safe_load(data["executor"])}
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [executor]}}
            problems += [f"executor: {p}" for p in kubernetes_problems(pod)]
    if "workflows.argoproj.io/default-artifact-repository" in annotations:
        for name, text in data.items():
            problems += [f"data.{name}: {p}" for p in argo_problems(hera_models.ArtifactRepository, yaml.safe_load(text))]
    return problems


def argo_problems(model: type, doc: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(strict_schema(model))
    errors = [leaf for e in validator.iter_errors(doc) for leaf in _leaves(e)]
    return sorted({f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors})


def _leaves(error: Any) -> list[Any]:
    """The errors that say what is wrong: an optional field is "anyOf: [its type, null]", so
    descend into the alternatives, leaving out "is not null"."""
    if not error.context:
        return [error]
    alternatives = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
    return [leaf for e in alternatives for leaf in _leaves(e)] or [error]


@functools.lru_cache(maxsize=None)
def strict_schema(model: type) -> dict[str, Any]:
    """The model's JSON schema with no undeclared field anywhere, IntOrString a string."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    for definition in [schema, *schema.get("$defs", {}).values()]:
        _forbid_extra(definition)
    if "IntOrString" in schema.get("$defs", {}):
        schema["$defs"]["IntOrString"] = {"type": "string"}
    return schema


def _forbid_extra(node: Any) -> None:
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _forbid_extra(value)
    elif isinstance(node, list):
        for value in node:
            _forbid_extra(value)


#: The merge key of lists Kubernetes merges by key in a strategic-merge patch.
MERGE_KEYS = {"volumeMounts": "mountPath"}


def strategic_merge(base: Any, patch: Any, field: str = "") -> Any:
    """``kubectl patch --type strategic`` for what our patches use: maps merge, lists of
    named items (containers, volumes, env, volume mounts by mountPath) merge by key."""
    if isinstance(base, dict) and isinstance(patch, dict):
        for key, value in patch.items():
            base[key] = strategic_merge(base[key], value, key) if key in base else value
        return base
    key = MERGE_KEYS.get(field, "name")
    if isinstance(base, list) and isinstance(patch, list) and all(isinstance(i, dict) and key in i for i in base + patch):
        merged = {item[key]: item for item in base}
        for item in patch:
            merged[item[key]] = strategic_merge(merged[item[key]], item) if item[key] in merged else item
        return list(merged.values())
    return patch


FILES = sorted(EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=pytest.mark.xfail(reason=EXPECTED_FAILURES[p.name], strict=True))
     if p.name in EXPECTED_FAILURES else p for p in FILES],
    ids=[p.name for p in FILES],
)
def test_shipped_manifest_is_valid(path: Path):
    assert problems_of(path) == []


def test_the_checks_catch_what_they_should(tmp_path: Path):
    """A misspelt field, an integer where Argo's schema wants a string, an unknown
    artifactDrivers field and a container field Kubernetes does not have are each found."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: t}\n"
        "spec:\n  entrypoint: a\n  templates:\n  - name: a\n    retryStrategy: {limit: 3}\n"
        "    contianer: {image: x}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: workflow-controller-configmap}\n"
        "data:\n  artifactDrivers: |\n    - {name: p, image: i, env: []}\n"
        "  executor: |\n    resources: {requests: {memory: 1Gi}}\n    volumeMount: []\n"
    )
    found = "\n".join(problems_of(bad))
    assert "spec.templates.0.retryStrategy.limit: 3 is not of type 'string'" in found
    assert "'contianer' was unexpected" in found
    assert "artifactDrivers[0]: unknown ['env']" in found
    assert "executor: " in found and "volumeMount" in found
