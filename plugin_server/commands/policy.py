"""``argo-artifacts policy check FILE``: validate an operator policy file before deploying it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ...core.policy import ROLES, Policy, PolicyError
from ...core.registry import BackendRegistry
from ...core.settings import Settings
from . import FAILED, OK, add_json_argument, print_json


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "policy", help="validate an operator policy file",
        description="Validate an operator policy file (see the security page of the docs): print its rules, "
        "defaults spelled out, and what in it is probably a mistake. Exit 1 with one line when it is invalid.",
    )
    commands = parser.add_subparsers(dest="policy_command", required=True, metavar="COMMAND")
    check = commands.add_parser("check", help="validate a policy file and print its rules")
    check.add_argument("file", metavar="FILE", help="the policy file")
    add_role_argument(check)
    add_json_argument(check, "the verdict")


def add_role_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", choices=ROLES, help="the plugin's role (default: ARGO_ARTIFACT_DRIVER_ROLE, else "
                        "pod); in role server no secret is resolved unless the policy lists it")


def load_policy(path: str | None, role: str | None) -> Policy:
    """The policy in ``path`` (else the one ``ARGO_ARTIFACT_DRIVER_POLICY`` names, else the
    default) for ``role`` (else ``ARGO_ARTIFACT_DRIVER_ROLE``). Raises :class:`PolicyError`
    (one line) when it cannot be used, and ``SettingError`` for a bad variable."""
    settings = Settings.from_env()
    return Policy.load(path if path is not None else settings.policy, role or settings.role)


def run(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.file, args.role)
    except PolicyError as exc:
        if args.json:
            print_json({"valid": False, "error": str(exc)})
        else:
            print(f"invalid: {exc}", file=sys.stderr)
        return FAILED
    rules = policy.describe()
    warnings = policy.warnings(BackendRegistry().schemes())
    if args.json:
        print_json({"valid": True, "source": policy.source, "role": policy.role,
                    "rules": dict(line.split(": ", 1) for line in rules[1:]), "warnings": warnings})
        return OK
    print(f"ok: {policy.source} (role {policy.role})")
    for line in rules[1:]:
        print(f"  {line}")
    for note in warnings:
        print(f"warning: {note}")
    return OK
