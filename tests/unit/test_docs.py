"""The docs stay true to the code: the configuration reference, the settings, the READMEs' links.

Each built-in backend's page, ``docs/configuration/<scheme>.md``, has an option table (a
Markdown table whose first header cell is ``option``); its first column must name every
option of the backend's ``option_spec`` (nested fields dotted, ``encryptionOptions.kmsKeyId``)
and nothing else. Fields refused with a message (``misplaced``: ``keyFormat`` and the other
fields Argo's controller owns) are not options: the configuration page lists them in its
table headed ``field``. The operations page's table headed ``environment variable`` lists
every setting with its default. The site's own links are checked by ``mkdocs build
--strict`` (``make docs``); the READMEs are not part of the site, so their relative links
are checked here.

In-process, no server: it reads the classes through the entry points the plugin declares.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path

import pytest

from argo_artifact_driver.core import settings
from argo_artifact_driver.core.options import CONTROLLER_FIELDS, Option
from argo_artifact_driver.core.registry import ENTRY_POINT_GROUP

REPO = Path(__file__).resolve().parents[2]
CONFIGURATION_DOCS = REPO / "docs" / "configuration"
OPERATIONS = REPO / "docs" / "operations.md"
DISTRIBUTION = "argo-artifact-driver"


def builtin_backends() -> dict[str, metadata.EntryPoint]:
    """The schemes this distribution declares (not those of other installed packages)."""
    return {
        ep.name: ep
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
        if ep.dist is not None and ep.dist.name == DISTRIBUTION
    }


def documented_options(spec: Mapping[str, Option], prefix: str = "") -> Iterator[str]:
    """What the option table must list: every option, and the fields of a mapping option
    (a secret reference's ``name``/``key`` are the same everywhere and documented once)."""
    for name, option in spec.items():
        if option.misplaced:
            continue
        yield prefix + name
        if option.fields is not None and not option.secret:
            yield from documented_options(option.fields, f"{prefix}{name}.")


def table_rows(markdown: str, first_header: str) -> list[list[str]]:
    """The body rows (lists of cells) of every table whose first header cell is ``first_header``."""
    rows: list[list[str]] = []
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if not _cells(line) or _cells(line)[0] != first_header:
            continue
        if i + 1 >= len(lines) or not re.fullmatch(r"\|?[\s:|-]+\|?", lines[i + 1].strip()):
            continue
        for row in lines[i + 2:]:
            cells = _cells(row)
            if not cells:
                break
            rows.append(cells)
    return rows


def first_column_names(markdown: str, first_header: str) -> list[str]:
    """The backticked names in the first column of those tables (a cell may hold several)."""
    return [name for row in table_rows(markdown, first_header) for name in re.findall(r"`([^`]+)`", row[0])]


def option_table_names(markdown: str) -> list[str]:
    return first_column_names(markdown, "option")


def _cells(line: str) -> list[str]:
    line = line.strip()
    if not line.startswith("|"):
        return []
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_every_builtin_scheme_has_a_page_and_every_page_a_scheme() -> None:
    schemes = set(builtin_backends())
    assert {"s3", "gcs", "azure", "file", "fsspec", "fallback"} <= schemes
    pages = {p.stem for p in CONFIGURATION_DOCS.glob("*.md")} - {"index"}
    assert pages == schemes, (
        f"schemes without a page in docs/configuration/: {sorted(schemes - pages)}; "
        f"pages for no built-in scheme: {sorted(pages - schemes)}"
    )


@pytest.mark.parametrize("scheme", sorted(builtin_backends()))
def test_option_table_lists_exactly_the_options(scheme: str) -> None:
    page = CONFIGURATION_DOCS / f"{scheme}.md"
    text = page.read_text(encoding="utf-8")
    spec = builtin_backends()[scheme].load().option_spec
    expected = list(documented_options(spec))
    listed = option_table_names(text)
    assert listed, f"{page.relative_to(REPO)} has no table headed '| option | ...'"
    assert sorted(set(listed)) == sorted(listed), f"options listed twice in {page.name}: {listed}"
    missing = sorted(set(expected) - set(listed))
    extra = sorted(set(listed) - set(expected))
    assert not missing and not extra, (
        f"{page.relative_to(REPO)}: options of scheme '{scheme}' missing from its option table: {missing}; "
        f"rows for options the backend does not have: {extra}"
    )
    refused = [name for name, option in spec.items() if option.misplaced]
    unmentioned = [name for name in refused if f"`{name}`" not in text]
    assert not unmentioned, f"{page.name} does not say that these fields are refused: {unmentioned}"


def test_fields_refused_everywhere_are_listed() -> None:
    listed = first_column_names((CONFIGURATION_DOCS / "index.md").read_text(encoding="utf-8"), "field")
    assert sorted(listed) == sorted(CONTROLLER_FIELDS), (
        f"docs/configuration/index.md's table headed '| field |' lists {sorted(listed)}; "
        f"the fields refused in every configuration are {sorted(CONTROLLER_FIELDS)}"
    )


def test_settings_table_lists_every_setting_with_its_default() -> None:
    """One row per setting, named as the variable; a default written as a number or in
    backticks must equal the code's (an empty default is described in words)."""
    table = table_rows(OPERATIONS.read_text(encoding="utf-8"), "environment variable")
    rows = {row[0].strip("`"): row[1] for row in table}
    expected = {variable: default for variable, default, _ in settings.describe()}
    assert sorted(rows) == sorted(expected), (
        f"settings missing from docs/operations.md: {sorted(set(expected) - set(rows))}; "
        f"rows for no setting: {sorted(set(rows) - set(expected))}"
    )
    wrong = {}
    for variable, default in expected.items():
        written = rows[variable].strip()
        if not default or not written.startswith("`"):
            continue
        written = written.strip("`")
        try:
            same = float(written) == float(default)
        except ValueError:
            same = written == default
        if not same:
            wrong[variable] = (written, default)
    assert not wrong, f"defaults in docs/operations.md that differ from the code (docs, code): {wrong}"


def test_option_table_parser_reads_nested_and_combined_rows() -> None:
    text = (
        "| option | type |\n|---|---|\n| `a` | x |\n| `b`, `c` | y |\n| `d.e` | z |\n\n"
        "| field | where |\n|---|---|\n| `keyFormat` | elsewhere |\n"
    )
    assert option_table_names(text) == ["a", "b", "c", "d.e"]


def _readmes() -> list[Path]:
    skip = {".venv", "node_modules", "site", "build", ".git"}
    return [p for p in REPO.rglob("README.md") if not skip & set(p.relative_to(REPO).parts)]


@pytest.mark.parametrize("readme", _readmes(), ids=lambda p: str(p.relative_to(REPO)))
def test_readme_links_lead_to_files(readme: Path) -> None:
    """Relative links (to docs/*.md, examples/, ...) must work on GitHub as on disk."""
    targets = re.findall(r"\]\(([^)\s]+)\)", readme.read_text(encoding="utf-8"))
    broken = [
        target
        for target in targets
        if not re.match(r"[a-z]+:|#", target) and not (readme.parent / target.split("#")[0]).exists()
    ]
    assert not broken, f"{readme.relative_to(REPO)} links to files that do not exist: {broken}"
