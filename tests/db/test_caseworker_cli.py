"""``intake user create/unlock/deactivate/activate`` and ``intake token create/revoke``, against
SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.caseworker import security
from bot.cli import main
from bot.store.caseworkers import ApiToken, AuditEntry, User
from bot.store.models import utcnow
from tests.caseworker_support import db_execute, db_rows


def test_cli_creates_accounts_and_tokens(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["user", "create", "zoe", "--role", "supervisor", "--password-stdin"]) == 0
    [user] = db_rows(database_url, select(User))
    assert (user.username, user.role) == ("zoe", "supervisor")
    assert user.password_hash.startswith("$argon2id$")
    assert "a long enough password" not in user.password_hash

    # A short password or a taken name is a clear one-line error.
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "create", "max", "--password-stdin"]) == 1
    assert "at least 12 characters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["user", "create", "zoe", "--password-stdin"]) == 1
    assert "taken" in capsys.readouterr().err

    assert main(["token", "create", "primero"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("ik_")
    [row] = db_rows(database_url, select(ApiToken))
    assert row.token_hash == security.digest(token)  # only the digest is stored
    assert row.scopes == ["referrals:read"] and row.revoked_at is None

    assert main(["token", "revoke", row.id]) == 0
    [row] = db_rows(database_url, select(ApiToken))
    assert row.revoked_at is not None
    # A lock-out lifted from the command line.
    db_execute(
        database_url,
        update(User).values(failed_logins=2, locked_until=utcnow() + timedelta(minutes=5)),
    )
    assert main(["user", "unlock", "zoe"]) == 0
    [user] = db_rows(database_url, select(User))
    assert (user.locked_until, user.failed_logins) == (None, 0)

    # Someone leaves: deactivated from the command line, then back.
    assert main(["user", "deactivate", "zoe"]) == 0
    [user] = db_rows(database_url, select(User))
    assert user.active is False
    assert main(["user", "activate", "zoe"]) == 0
    [user] = db_rows(database_url, select(User))
    assert user.active is True
    assert main(["user", "deactivate", "nobody"]) == 1
    assert "no account named 'nobody'" in capsys.readouterr().err
    actions = [e.action for e in db_rows(database_url, select(AuditEntry))]
    assert actions == [
        "create_user",
        "create_token",
        "revoke_token",
        "unlock_user",
        "deactivate_user",
        "activate_user",
    ]


def test_cli_token_scopes_are_stored_and_unknown_ones_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    argv = ["token", "create", "crm", "--scope", "referrals:read"]
    assert main([*argv, "--scope", "referrals:read_contact"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    [row] = db_rows(database_url, select(ApiToken))
    assert row.token_hash == security.digest(token)
    assert row.scopes == ["referrals:read", "referrals:read_contact"]
    [entry] = db_rows(database_url, select(AuditEntry))
    assert (entry.action, entry.detail["scopes"]) == ("create_token", row.scopes)

    assert main(["token", "create", "crm2", "--scope", "referrals:write"]) == 1
    err = capsys.readouterr().err
    assert "referrals:read, referrals:read_contact" in err  # the known scopes are listed
    assert len(db_rows(database_url, select(ApiToken))) == 1
