"""The contract changelog: what a spec bump changes for users of the SDK.

``make generate`` compares the spec with the committed one (git's ``HEAD`` version, or any
file) and writes a summary: operations and models added, removed or renamed (as far as can
be told), fields added, removed or retyped, enum values added or removed, deprecations. Each
change is classified **breaking** (code written against the previous SDK may no longer run
or type-check: a method or class is gone or renamed, a field removed or retyped, an argument
newly required) or **additive**. The entry is printed and written at the top of
``openapi/CHANGELOG.md``; ``make check-breaking`` fails while a breaking change is not
acknowledged in ``openapi/breaking-changes-ack.yaml``.

The changes and their classes come from ``codegen/contract_diff.py`` (api-smart-diff,
mapped onto the SDK); this module reads the two versions, writes the entry and the
changelog, and keeps the acknowledgements.

Commands (``python -m codegen.changelog ...``)::

    record       print the entry, write it into the changelog (make generate)
    check        fail on unacknowledged breaking changes (make check-breaking)
    acknowledge  write the ack file for the current breaking changes
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from codegen import REPO_ROOT
from codegen.contract_diff import Change, contract_changes
from codegen.errors import GenerationError
from codegen.spec import load_document, normalise, spec_label

__all__ = [
    "ChangelogError",
    "acknowledged",
    "baseline_bytes",
    "load_baseline",
    "main",
    "record",
    "render_entry",
    "write_ack",
]

#: The default baseline: the spec as committed.
DEFAULT_BASELINE = "git:HEAD:openapi/intelliauth.openapi.yaml"
CHANGELOG_TITLE = "# Contract changelog"
CHANGELOG_PREAMBLE = """\
What each bump of the IntelliAuth contract (`openapi/intelliauth.openapi.yaml`) changed for
users of this SDK, newest first. `make generate` writes an entry whenever the spec differs from
the committed one (`codegen/changelog.py`). **Breaking** means code written against the
previous SDK may no longer run or type-check; each such change must be listed in
`openapi/breaking-changes-ack.yaml` before `make check-breaking` (run by `make update-spec`)
passes.
"""
_MARKER = re.compile(r"<!-- contract: (?P<old>[0-9a-f]{12}) -> (?P<new>[0-9a-f]{12}) -->")


class ChangelogError(GenerationError):
    """The previous contract or the ack file cannot be read."""


def baseline_bytes(baseline: str) -> bytes:
    """The committed contract's bytes: ``git:REV:PATH`` (``git show``) or a file path.

    Raises:
        ChangelogError: If it cannot be read.
    """
    if not baseline.startswith("git:"):
        try:
            return Path(baseline).read_bytes()
        except OSError as error:
            raise ChangelogError(
                f"cannot read the previous contract ({error.strerror or error})",
                location=baseline,
                fix="pass BASELINE= the previous spec file, or git:REV:PATH",
            ) from error
    revision, _, path = baseline[4:].partition(":")
    result = subprocess.run(  # noqa: S603 - git with our own arguments
        ["git", "show", f"{revision}:{path}"],  # noqa: S607
        cwd=REPO_ROOT,
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise ChangelogError(
            f"cannot read the committed contract ({result.stderr.decode(errors='replace')})",
            location=baseline,
            fix="run inside the git checkout, or pass BASELINE=<file> (the previous spec)",
        )
    return result.stdout


def load_baseline(baseline: str) -> dict[str, Any]:
    """The committed contract, parsed (see `baseline_bytes`).

    Raises:
        ChangelogError: If it cannot be read or is not a mapping.
    """
    text = baseline_bytes(baseline).decode("utf-8")
    try:
        document = json.loads(text) if baseline.endswith(".json") else YAML(typ="safe").load(text)
    except Exception as error:  # the YAML parser's many error classes
        raise ChangelogError(
            f"the previous contract does not parse: {error}", location=baseline
        ) from error
    if not isinstance(document, dict):
        raise ChangelogError("the previous contract is not a mapping", location=baseline)
    return normalise(document)


def _digest(document: Mapping[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


# -- the entry, the changelog, the acknowledgements ------------------------------------------


def _version(document: Mapping[str, Any]) -> str:
    return str((document.get("info") or {}).get("version") or "?")


def render_entry(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    changes: Sequence[Change],
    documentation: int,
) -> str:
    """The Markdown entry for one bump (a heading, a marker, the breaking and additive lists)."""
    old, new = _version(before), _version(after)
    heading = (
        f"## {new} (from {old})" if old != new else f"## {new} (contract changed, same version)"
    )
    lines = [heading, "", f"<!-- contract: {_digest(before)} -> {_digest(after)} -->", ""]
    breaking = [change for change in changes if change.breaking]
    additive = [change for change in changes if not change.breaking]
    if breaking:
        lines += [f"Breaking for SDK users ({len(breaking)}):", ""]
        lines += [f"- {change.text}" for change in breaking]
        lines.append("")
    if additive:
        lines += [f"Additive ({len(additive)}):", ""]
        lines += [f"- {change.text}" for change in additive]
        lines.append("")
    if documentation:
        lines += [
            f"Documentation: descriptions or examples changed in {documentation} place(s).",
            "",
        ]
    if not changes and not documentation:
        lines += ["No change that SDK users can see.", ""]
    return "\n".join(lines)


def record(changelog: Path, entry: str) -> bool:
    """Put `entry` at the top of `changelog`, replacing an entry from the same baseline.

    Generating twice from one committed spec (the bump edited again before its commit)
    leaves one entry, not two. Returns whether the file changed.
    """
    marker = _MARKER.search(entry)
    assert marker is not None  # render_entry writes it
    text = (
        changelog.read_text(encoding="utf-8")
        if changelog.exists()
        else f"{CHANGELOG_TITLE}\n\n{CHANGELOG_PREAMBLE}"
    )
    head, entries = _split_entries(text)
    entries = [e for e in entries if _baseline_of(e) != marker.group("old")]
    updated = (
        head.rstrip("\n") + "\n\n" + "\n".join(e.rstrip("\n") + "\n" for e in [entry, *entries])
    )
    if updated == text:
        return False
    changelog.parent.mkdir(parents=True, exist_ok=True)
    changelog.write_text(updated, encoding="utf-8")
    return True


def _split_entries(text: str) -> tuple[str, list[str]]:
    parts = re.split(r"(?m)^(?=## )", text)
    return parts[0], [part for part in parts[1:] if part.strip()]


def _baseline_of(entry: str) -> str | None:
    marker = _MARKER.search(entry)
    return marker.group("old") if marker else None


def acknowledged(ack_file: Path, version: str) -> set[str]:
    """The change keys the ack file accepts for contract `version` (none if another version's).

    Raises:
        ChangelogError: If the file is not the expected YAML.
    """
    if not ack_file.exists():
        return set()
    try:
        content = YAML(typ="safe").load(ack_file.read_text(encoding="utf-8")) or {}
    except YAMLError as exc:
        raise ChangelogError(
            f"the ack file is not valid YAML ({str(exc).splitlines()[0]})",
            location=str(ack_file),
            fix="see the comment at the top of the file",
        ) from None
    keys = content.get("acknowledged") if isinstance(content, Mapping) else None
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise ChangelogError(
            "the ack file must hold `version:` and an `acknowledged:` list of strings",
            location=str(ack_file),
            fix="see the comment at the top of the file",
        )
    return set(keys) if str(content.get("version")) == version else set()


def write_ack(ack_file: Path, version: str, keys: Iterable[str]) -> None:
    """Write the ack file accepting `keys` for contract `version`."""
    lines = [
        "# Breaking changes of the IntelliAuth contract that this repository accepts, for the",
        "# bump to `version` (make check-breaking ignores the list for any other version).",
        "# Each entry is a change key as `make check-breaking` prints it; the bump's commit edits",
        "# this file, so that a breaking change never lands unread.",
        f"version: {json.dumps(version)}",
    ]
    keys = sorted(keys)
    lines += (
        ["acknowledged:"] + [f"  - {json.dumps(key)}" for key in keys]
        if keys
        else ["acknowledged: []"]
    )
    ack_file.write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- the command line ----------------------------------------------------------------------------


def _changes_for(
    spec: Path, baseline: str
) -> tuple[dict[str, Any], dict[str, Any], list[Change], int] | None:
    """(before, after, changes, documentation count), or None when the spec is the baseline."""
    try:
        unchanged = baseline_bytes(baseline) == spec.read_bytes()
    except OSError:
        unchanged = False  # load_document names the unreadable spec
    if unchanged:  # the usual `make generate`: no parsing, no diff
        return None
    before = load_baseline(baseline)
    after = load_document(spec)
    if _digest(before) == _digest(after):
        return None
    changes, documentation = contract_changes(before, after)
    return before, after, changes, documentation


def _record_command(arguments: argparse.Namespace) -> int:
    found = _changes_for(arguments.spec, arguments.baseline)
    if found is None:
        if arguments.entry is not None:
            arguments.entry.unlink(missing_ok=True)  # no bump, no entry for a commit message
        print(
            f"codegen.changelog: {spec_label(arguments.spec)} is the committed contract: no entry"
        )
        return 0
    entry = render_entry(*found)
    print(entry)
    if arguments.entry is not None:
        arguments.entry.parent.mkdir(parents=True, exist_ok=True)
        arguments.entry.write_text(entry, encoding="utf-8")
    changed = record(arguments.changelog, entry)
    state = "written to" if changed else "already in"
    print(f"codegen.changelog: entry {state} {spec_label(arguments.changelog)}")
    return 0


def _check_command(arguments: argparse.Namespace) -> int:
    found = _changes_for(arguments.spec, arguments.baseline)
    if found is None:
        print("codegen.changelog: the spec is the committed contract: nothing to acknowledge")
        return 0
    _, after, changes, _ = found
    version = _version(after)
    accepted = acknowledged(arguments.ack, version)
    missing = [change for change in changes if change.breaking and change.key not in accepted]
    if not missing:
        count = sum(change.breaking for change in changes)
        print(f"codegen.changelog: no unacknowledged breaking change ({count} acknowledged)")
        return 0
    ack = spec_label(arguments.ack)
    print(
        f"codegen.changelog: {len(missing)} breaking change(s) of the contract are not "
        f"acknowledged in {ack}:",
        file=sys.stderr,
    )
    for change in missing:
        print(f"  - {change.text}", file=sys.stderr)
    print(
        f"Read them, adapt the code that uses them, then list them in {ack} (or run "
        "`python -m codegen.changelog acknowledge`), so that it reads:",
        file=sys.stderr,
    )
    print(f"version: {json.dumps(version)}\nacknowledged:", file=sys.stderr)
    for key in sorted({*accepted, *(change.key for change in missing)}):
        print(f"  - {json.dumps(key)}", file=sys.stderr)
    return 1


def _acknowledge_command(arguments: argparse.Namespace) -> int:
    found = _changes_for(arguments.spec, arguments.baseline)
    changes = found[2] if found is not None else []
    version = _version(found[1] if found is not None else load_document(arguments.spec))
    keys = [change.key for change in changes if change.breaking]
    write_ack(arguments.ack, version, keys)
    ack = spec_label(arguments.ack)
    print(f"codegen.changelog: {len(keys)} breaking change(s) acknowledged in {ack}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run a changelog command; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m codegen.changelog", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("record", "check", "acknowledge"):
        command = commands.add_parser(name)
        command.add_argument("--spec", type=Path, required=True, help="the new contract")
        command.add_argument(
            "--baseline",
            default=DEFAULT_BASELINE,
            help="the committed contract: git:REV:PATH or a file (default %(default)s)",
        )
        if name == "record":
            command.add_argument("--changelog", type=Path, required=True)
            command.add_argument("--entry", type=Path, help="also write the entry alone here")
        else:
            command.add_argument("--ack", type=Path, required=True, help="the ack file")
    arguments = parser.parse_args(argv)
    handlers = {
        "record": _record_command,
        "check": _check_command,
        "acknowledge": _acknowledge_command,
    }
    try:
        return handlers[arguments.command](arguments)
    except GenerationError as error:
        print(f"GenerationError: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
