"""``argo-artifacts check``: validate a plugin configuration against its backend and the
operator's policy, without touching storage.

What a user pastes is not always the configuration itself: it may be an artifact's whole
``plugin:`` block, or a Workflow (or template, or the artifact-repositories ConfigMap)
that holds several. Those are recognised, and each configuration found in them is checked,
saying where it was found. A verdict is printed only once everything about a
configuration is known, so ``ok:`` is never followed by ``invalid:``.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

import yaml

from ...core.errors import ArtifactError, BadConfiguration, RefusedByPolicy, SecretUnavailable, UnknownScheme
from ...core.options import Option, describe_options
from ...core.policy import Policy
from ...core.secrets import SecretRef
from ...core.stores import StoreCache
from . import FAILED, OK, ToolError, add_json_argument, print_json
from .inputs import read_text
from .policy import add_role_argument, load_policy


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate a plugin configuration against its backend and the operator's policy",
        description="Parse a plugin configuration, load its scheme's backend, validate the options and check "
        "them against the operator's policy (--policy, else ARGO_ARTIFACT_DRIVER_POLICY, else the default "
        "policy), without touching storage (endpoint names are resolved, to judge their addresses). CONFIG may also be an artifact's whole 'plugin:' block, or a Workflow, "
        "WorkflowTemplate, CronWorkflow or artifact-repositories ConfigMap: every plugin configuration in it "
        "is checked. Exit 0 and print each store with its options (defaults filled in) when all are valid; "
        "exit 1 and say why when one is not.",
    )
    parser.add_argument("config", help="configuration text, or @FILE to read it from a file ('@-' for stdin)")
    parser.add_argument(
        "--resolve", action="store_true",
        help="also resolve secret references and report where each credential comes from (never the values)",
    )
    parser.add_argument("--policy", metavar="FILE", help="the operator policy file (default: "
                        "ARGO_ARTIFACT_DRIVER_POLICY; the default policy when that is unset)")
    add_role_argument(parser)
    add_json_argument(parser, "the verdict on each configuration")


def run(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy, args.role)
    except ValueError as exc:  # a policy that cannot be used is a bad input, like a missing @FILE
        raise ToolError(str(exc)) from None
    return check_command(read_text(args.config), resolve=args.resolve, as_json=args.json, policy=policy)


@dataclass
class Found:
    """A configuration to check, and where in the given text it was found (None: the text itself)."""

    text: str
    where: str | None = None


@dataclass
class Verdict:
    """Everything known about one configuration, gathered before anything is printed."""

    where: str | None
    valid: bool = False
    scheme: str = ""
    package: dict[str, str] = field(default_factory=dict)
    store: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    credentials: list[str] = field(default_factory=list)
    error: str = ""
    #: The options of the scheme the error is about, when listing them helps.
    help_scheme: str = ""
    help: list[str] = field(default_factory=list)


def check_command(
    text: str, stores: StoreCache | None = None, resolve: bool = False, as_json: bool = False,
    policy: Policy | None = None,
) -> int:
    """Validate every configuration in ``text`` without touching storage; print the verdicts.

    Each configuration (a composite's parts included) is checked against ``policy`` where
    the server checks it, in :meth:`StoreCache.build`. With ``resolve``, also resolve secret
    references (mounted files, the Kubernetes API) and say where each credential would come
    from, never printing a value."""
    stores = stores or StoreCache(policy=policy)
    found, kind = find_configurations(text)
    verdicts = [judge(stores, item, resolve) for item in found]
    for verdict in verdicts:
        if as_json:
            print_json({k: v for k, v in dataclasses.asdict(verdict).items() if k not in ("help_scheme",)})
        else:
            _print(verdict, kind)
    return OK if all(v.valid for v in verdicts) else FAILED


def judge(stores: StoreCache, found: Found, resolve: bool) -> Verdict:
    verdict = Verdict(found.where)
    try:
        config = stores.parse(found.text)
        configured = stores.configure(config)
        store = stores.build(config)  # composites validate their parts here; no I/O
        if resolve and hasattr(configured, "credential_report"):
            verdict.credentials = configured.credential_report()
    except ArtifactError as exc:
        verdict.error = exc.message
        if isinstance(exc, BadConfiguration) and not isinstance(exc, (UnknownScheme, SecretUnavailable,
                                                                      RefusedByPolicy)):
            _add_help(verdict, stores, found.text, exc.message)
        return verdict
    entry = stores.registry.entries(config.scheme)[0]
    verdict.valid, verdict.scheme, verdict.store = True, config.scheme, store.describe()
    verdict.package = {"distribution": entry.distribution, "version": entry.version}
    verdict.options = {name: _plain(value) for name, value in configured.options.items() if value is not None}
    return verdict


#: The part of an unknown-option message that lists the known options: the list printed
#: below it says the same with types and help, so it is shown once.
_KNOWN_OPTIONS = re.compile(r" \(known options: [^)]*\)")
_SCHEME_IN_MESSAGE = re.compile(r"invalid configuration for scheme '([^']+)'")


def _add_help(verdict: Verdict, stores: StoreCache, text: str, message: str) -> None:
    """The option list of the scheme the message is about (a composite's part, if it names one)."""
    named = _SCHEME_IN_MESSAGE.findall(message)
    try:
        scheme = named[-1] if named else stores.parse(text).scheme
        spec: Mapping[str, Option] = stores.registry.backend_class(scheme).option_spec
    except ArtifactError:
        return
    verdict.help_scheme, verdict.help = scheme, describe_options(spec)
    verdict.error = _KNOWN_OPTIONS.sub("", message)


def _print(verdict: Verdict, kind: str | None) -> None:
    out = sys.stdout if verdict.valid else sys.stderr
    if verdict.where is not None:
        print(f"{kind} {verdict.where}:", file=out)
    if not verdict.valid:
        print(f"invalid: {verdict.error}", file=sys.stderr)
        if verdict.help:
            print(f"options of scheme '{verdict.help_scheme}':", file=sys.stderr)
            for line in verdict.help:
                print(f"  {line}", file=sys.stderr)
        return
    package = verdict.package
    print(f"ok: scheme '{verdict.scheme}' ({package['distribution']} {package['version']}), store {verdict.store}")
    for line in yaml.safe_dump(verdict.options, sort_keys=False, default_flow_style=False).splitlines():
        print(f"  {line}")
    if verdict.credentials:
        print("credentials:")
        for line in verdict.credentials:
            print(f"  {line}")


def _plain(value: Any) -> Any:
    """An option's value as plain YAML data (a secret reference as Argo writes it)."""
    if isinstance(value, SecretRef):
        return {"name": value.name, "key": value.key}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# -- what was pasted ---------------------------------------------------------------------

#: Kinds whose plugin configurations are found and checked, as Argo names them.
ARGO_KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow", "ConfigMap")


def find_configurations(text: str) -> tuple[list[Found], str | None]:
    """The configurations in ``text`` and what held them (None: ``text`` is one itself).

    Raises :class:`ToolError` for an Argo object that holds none."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        return [Found(text)], None  # the check itself explains what is wrong with the YAML
    if len(documents) != 1 or not isinstance(documents[0], Mapping):
        if documents and all(isinstance(d, Mapping) and d.get("kind") in ARGO_KINDS for d in documents):
            found = [f for d in documents for f in _in_object(d)]
            return _some(found, "objects"), "in"
        return [Found(text)], None
    doc = documents[0]
    plugin = doc.get("plugin")
    if isinstance(plugin, Mapping) and isinstance(plugin.get("configuration"), str) and "scheme" not in doc:
        # a pasted `plugin:` block, maybe with the rest of its artifact (name, path...)
        return [Found(plugin["configuration"], "the artifact's plugin block")], "configuration of"
    if "scheme" not in doc and isinstance(doc.get("configuration"), str) and set(doc) <= {"name", "configuration", "key", "connectionTimeoutSeconds"}:
        return [Found(doc["configuration"], "the plugin block")], "configuration of"
    if doc.get("kind") in ARGO_KINDS and ("spec" in doc or "data" in doc):
        return _some(list(_in_object(doc)), f"{doc['kind']}"), "in"
    return [Found(text)], None


def _some(found: list[Found], what: str) -> list[Found]:
    if not found:
        raise ToolError(
            f"no plugin configuration in this {what}: no artifact in it has a 'plugin:' block with a "
            "'configuration'. Artifacts that name none use the namespace's artifact repository "
            "(artifactRepositoryRef): check the plugin configuration of that ConfigMap instead", FAILED)
    unique: dict[str, Found] = {}
    for item in found:  # the same configuration on many artifacts is checked once
        if item.text in unique:
            unique[item.text].where = f"{unique[item.text].where}, {item.where}"
        else:
            unique[item.text] = item
    return list(unique.values())


def _in_object(doc: Mapping[str, Any]) -> Iterator[Found]:
    name = f"{doc.get('kind')} '{(doc.get('metadata') or {}).get('name') or (doc.get('metadata') or {}).get('generateName', '?')}'"
    if doc.get("kind") == "ConfigMap":  # artifact repositories: each data value is a YAML document
        for key, value in (doc.get("data") or {}).items():
            try:
                inner = yaml.safe_load(value) if isinstance(value, str) else None
            except yaml.YAMLError:
                continue
            yield from _walk(inner, f"{name} data.{key}")
        return
    yield from _walk(doc.get("spec"), f"{name} spec")


def _walk(node: Any, path: str) -> Iterator[Found]:
    if isinstance(node, Mapping):
        plugin = node.get("plugin")
        if isinstance(plugin, Mapping) and isinstance(plugin.get("configuration"), str):
            label = f" (artifact '{node['name']}')" if isinstance(node.get("name"), str) else ""
            yield Found(plugin["configuration"], f"{path}.plugin{label}")
        for key, value in node.items():
            if key != "plugin":
                yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")
