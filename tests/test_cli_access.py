"""`sender tokens revoke` and `sender users deactivate`: the next API call with the token is a 401."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from sender import create_app
from sender.cli.main import cli
from sender.models import AuditEvent
from sender.runtime import Runtime
from sender.services.accounts import users

PASSWORD = "correct horse battery staple"


def _issue(runtime: Runtime, email: str, *names: str) -> list[str]:
    with runtime.Session() as session:
        user = users.create_user(session, email, "marketer", PASSWORD)
        values = [users.issue_token(session, user, name).value for name in names]
        session.commit()
    return values


def _status(runtime: Runtime, token: str) -> int:
    client = create_app({"TESTING": True}, runtime=runtime).test_client()
    return client.get("/api/v1/lists", headers={"Authorization": f"Bearer {token}"}).status_code


def test_revoke_one_token_by_name(base_env: dict[str, str], committed: Runtime) -> None:
    crm, backup = _issue(committed, "m@exemple.fr", "crm", "backup")
    runner = CliRunner(env=base_env)
    listed = runner.invoke(cli, ["tokens", "list", "m@exemple.fr"])
    assert listed.exit_code == 0 and "crm" in listed.output and "backup" in listed.output
    assert crm not in listed.output and backup not in listed.output  # never the token itself

    result = runner.invoke(cli, ["tokens", "revoke", "m@exemple.fr", "--name", "crm"])

    assert result.exit_code == 0, result.output
    assert "revoked 1 token" in result.output
    assert _status(committed, crm) == 401
    assert _status(committed, backup) == 200
    assert "crm" not in runner.invoke(cli, ["tokens", "list", "m@exemple.fr"]).output
    with committed.Session() as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "token.revoke")) is not None


def test_revoke_all_and_bad_calls(base_env: dict[str, str], committed: Runtime) -> None:
    tokens = _issue(committed, "m@exemple.fr", "a", "b")
    runner = CliRunner(env=base_env)
    assert runner.invoke(cli, ["tokens", "revoke", "m@exemple.fr"]).exit_code == 2  # --name or --all
    missing = runner.invoke(cli, ["tokens", "revoke", "m@exemple.fr", "--name", "nope"])
    assert missing.exit_code == 1 and "no active token named 'nope'" in missing.output
    assert runner.invoke(cli, ["tokens", "revoke", "nobody@exemple.fr", "--all"]).exit_code == 1

    result = runner.invoke(cli, ["tokens", "revoke", "m@exemple.fr", "--all"])

    assert result.exit_code == 0 and "revoked 2 tokens" in result.output
    assert [_status(committed, t) for t in tokens] == [401, 401]


def test_deactivated_user_gets_401_until_activated(base_env: dict[str, str], committed: Runtime) -> None:
    (token,) = _issue(committed, "m@exemple.fr", "crm")
    runner = CliRunner(env=base_env)

    result = runner.invoke(cli, ["users", "deactivate", "M@exemple.fr"])

    assert result.exit_code == 0, result.output
    assert _status(committed, token) == 401
    assert runner.invoke(cli, ["users", "activate", "m@exemple.fr"]).exit_code == 0
    assert _status(committed, token) == 200
    assert runner.invoke(cli, ["users", "deactivate", "nobody@exemple.fr"]).exit_code == 1
