"""``intelliauth users list`` and ``users import`` against the sandbox."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from intelliauth_ext.testing import Sandbox

from .conftest import Invoke

#: The sandbox's own test user, there before any test adds one.
TEST_USER = "ada@example.com"


def _seed(sandbox: Sandbox, count: int) -> list[str]:
    return [
        sandbox.add_user(f"user{i}@example.com", name=f"User {i}")["email"] for i in range(count)
    ]


def _list_requests(sandbox: Sandbox) -> int:
    return sum(sandbox.served.statuses("listUsers").values())


def test_list_json_lines_covers_every_page(invoke: Invoke, intelliauth_sandbox: Sandbox) -> None:
    """``--json`` prints one user object per line, from every page."""
    emails = _seed(intelliauth_sandbox, 7)
    result = invoke("users", "list", "--json", "--page-size", "2")
    assert result.exit_code == 0, result.stderr
    listed = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(user["email"] for user in listed) == sorted([*emails, TEST_USER])
    assert all(user["id"].startswith("usr_") for user in listed)
    assert _list_requests(intelliauth_sandbox) == 4


def test_list_table_has_a_header_and_a_row_per_user(
    invoke: Invoke, intelliauth_sandbox: Sandbox
) -> None:
    """Without ``--json`` the users come as an aligned table."""
    _seed(intelliauth_sandbox, 3)
    result = invoke("users", "list")
    assert result.exit_code == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "EMAIL", "NAME", "STATUS", "CREATED"]
    assert len(rows) == 4
    assert any("user1@example.com" in row and "User 1" in row for row in rows)
    email_column = header.index("EMAIL")
    assert all(row[email_column - 2 : email_column] == "  " for row in rows)


def test_list_filters_and_limit(invoke: Invoke, intelliauth_sandbox: Sandbox) -> None:
    """``--email``, ``--q``, ``--status`` filter; ``--limit`` stops after that many users."""
    _seed(intelliauth_sandbox, 5)
    intelliauth_sandbox.add_user("locked@example.com", status="locked")
    by_email = invoke("users", "list", "--json", "--email", "user3@example.com")
    assert [json.loads(line)["email"] for line in by_email.stdout.splitlines()] == [
        "user3@example.com"
    ]
    by_status = invoke("users", "list", "--json", "--status", "locked")
    assert [json.loads(line)["email"] for line in by_status.stdout.splitlines()] == [
        "locked@example.com"
    ]
    by_query = invoke("users", "list", "--json", "--q", "user")
    assert len(by_query.stdout.splitlines()) == 5
    limited = invoke("users", "list", "--json", "--limit", "3", "--page-size", "2")
    assert len(limited.stdout.splitlines()) == 3


def test_list_refused_scope_is_one_line(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """A token without ``users:read`` gives the API's 403 as one line, exit status 1."""
    monkeypatch.setenv("INTELLIAUTH_SCOPES", "groups:read")
    result = invoke("users", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: PermissionDeniedError: [403 permission_denied]")
    assert len(result.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- import


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    columns = ["email", "name", "phone_number", "password", "email_verified", "metadata.team"]
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


SHORT_PASSWORD = "tiny-pw"


def _five_thousand_rows() -> tuple[list[dict[str, str]], dict[int, str]]:
    """5,000 rows, six of them broken in different ways; returns the rows and bad lines."""
    rows = [
        {
            "email": f"import{i}@example.com",
            "name": f"Imported {i}",
            "email_verified": "true" if i % 2 else "false",
            "metadata.team": f"team-{i % 7}",
        }
        for i in range(5000)
    ]
    broken = {
        10: ({"email": ""}, "email is missing"),
        777: ({"email": "not-an-email"}, "email is not an email address"),
        1500: ({"email_verified": "maybe"}, "email_verified is not true or false"),
        2345: ({"phone_number": "12345"}, "phone_number"),  # refused by the server: E.164
        3000: ({"password": SHORT_PASSWORD}, "password"),  # refused by the server: too short
        4999: ({"email": "import5@example.com"}, "already_exists"),  # a duplicate
    }
    lines = {}
    for index, (change, reason) in broken.items():
        rows[index].update(change)
        lines[index + 2] = reason  # line 1 is the header
    return rows, lines


@pytest.mark.slow
def test_import_of_5000_users_reports_progress_and_failures(
    invoke: Invoke, intelliauth_sandbox: Sandbox, tmp_path: Path
) -> None:
    """5,000 CSV rows with six bad ones: progress on stderr, a correct summary, exit status 1."""
    rows, bad_lines = _five_thousand_rows()
    path = tmp_path / "people.csv"
    _write_csv(path, rows)
    result = invoke("users", "import", str(path), "--batch-size", "1000", "--poll-interval", "0")
    assert result.exit_code == 1, result.stderr
    progress = result.stderr.splitlines()
    assert progress[-1] == "imported 5000/5000 rows (100%)"
    assert len(progress) >= 5
    summary, *failures = result.stdout.splitlines()
    assert summary == f"{path}: 5000 rows, 4994 created, 0 updated, 6 failed"
    assert len(failures) == 6
    for failure, (line, reason) in zip(failures, sorted(bad_lines.items()), strict=True):
        assert failure.startswith(f"  line {line}")
        assert reason in failure
    assert SHORT_PASSWORD not in result.output
    assert intelliauth_sandbox.client_secret not in result.output
    imported = invoke("users", "list", "--json", "--q", "import", "--page-size", "200")
    assert len(imported.stdout.splitlines()) == 4994


def test_import_jsonl_all_valid_exits_zero(
    invoke: Invoke, intelliauth_sandbox: Sandbox, tmp_path: Path
) -> None:
    """A JSON lines file whose rows all import exits 0 with nothing failed."""
    path = tmp_path / "people.jsonl"
    path.write_text(
        "\n".join(json.dumps({"email": f"j{i}@example.com", "name": f"J {i}"}) for i in range(25))
        + "\n\n"
    )
    result = invoke("users", "import", str(path), "--batch-size", "10", "--poll-interval", "0")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{path}: 25 rows, 25 created, 0 updated, 0 failed\n"
    assert _list_requests(intelliauth_sandbox) == 0


def test_import_upsert_updates_existing_users(
    invoke: Invoke, intelliauth_sandbox: Sandbox, tmp_path: Path
) -> None:
    """``--mode upsert`` counts rows of existing emails as updated, not failed."""
    _seed(intelliauth_sandbox, 2)
    path = tmp_path / "people.csv"
    _write_csv(
        path, [{"email": "user0@example.com", "name": "Renamed"}, {"email": "new@example.com"}]
    )
    result = invoke("users", "import", str(path), "--mode", "upsert", "--poll-interval", "0")
    assert result.exit_code == 0, result.stderr
    assert "1 created, 1 updated, 0 failed" in result.stdout


def test_import_of_a_malformed_file_is_a_usage_error(invoke: Invoke, tmp_path: Path) -> None:
    """An unknown CSV column stops the import before any request (exit status 2)."""
    path = tmp_path / "people.csv"
    path.write_text("email,nickname\na@example.com,al\n")
    result = invoke("users", "import", str(path))
    assert result.exit_code == 2
    assert "unknown CSV columns: nickname" in result.stderr


def test_import_from_stdin_with_bad_json_lines(invoke: Invoke, tmp_path: Path) -> None:
    """JSON lines on stdin: a line that is not JSON fails alone, by its line number."""
    body = '{"email": "s1@example.com"}\n{not json\n[1, 2]\n{"email": "s2@example.com"}\n'
    result = invoke("users", "import", "-", "--format", "jsonl", "--poll-interval", "0", input=body)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "stdin: 4 rows, 2 created, 0 updated, 2 failed",
        "  line 2: validation_failed: the line is not a JSON object",
        "  line 3: validation_failed: the line is not a JSON object",
    ]
