"""A requalification cycle asked as an organisation does it: created, approved by the DPO, started, then
`sender requalify run` and a worker send the questions (the tests then read what people received)."""

from __future__ import annotations

import subprocess

from sender.services.accounts import users
from tests.e2e.conftest import ROOT, Stack
from tests.e2e.test_requalification import SENDER


def ask(stack: Stack, subject: str, body_text: str, deadline: str = "2027-01-15T15:00:00Z") -> int:
    """Create, approve and start a cycle for the `newsletter` purpose, then run it once; its campaign id."""
    dpo = users.create_user(stack.session, "dpo@example.org", "dpo", "correct horse battery")
    dpo_headers = {"Authorization": f"Bearer {users.issue_token(stack.session, dpo).value}"}
    stack.session.commit()
    created = stack.api(
        "POST",
        "/requalifications",
        {
            "name": "Re-permission",
            "purpose": "newsletter",
            "subject": subject,
            "body_text": body_text,
            "deadline": deadline,
        },
    )
    assert created.status_code == 201, created.get_json()
    cid: int = created.get_json()["campaign_id"]
    approved = stack.client.post(
        f"/api/v1/campaigns/{cid}/approval", json={"note": "ok"}, headers=dpo_headers
    )
    assert approved.status_code == 200, approved.get_json()
    assert stack.api("POST", f"/campaigns/{cid}/send").status_code == 202
    cron = subprocess.run(
        [SENDER, "requalify", "run"], cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=300
    )
    assert cron.returncode == 0, cron.stderr
    stack.worker()
    return cid
