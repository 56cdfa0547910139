"""Benchmark: what saving a hostile campaign template costs the web process (issue 15, item 3).

Each template goes in the subject, the HTML and the text of one `POST /api/v1/campaigns`, sent through the
WSGI app in a fresh Python process per template (SQLite, a temporary folder). It prints the status, the time
the request took, the peak resident memory of that web process before and after the request, then the
answer's start. The web process runs under an address-space cap, so a template that would grow it further
fails with MemoryError instead of bloating the machine.

    python bench/hostile_templates.py
    python bench/hostile_templates.py --cap-mb 2048 --timeout 120

BENCH_REDIS_URL (default redis://127.0.0.1:6379/13) is the rate limiter's Redis.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

HOSTILE = {
    "[[1]*10000]*10000": "{{ [[1]*10000]*10000 }}",
    "['x'*1000000]*10000": "{{ ['x'*1000000]*10000 }}",
    "|string": "{{ (['x'*1000000]*10000)|string|length }}",
    "|tojson": "{{ (['x'*1000000]*10000)|tojson|length }}",
    "|pprint": "{{ (['x'*1000000]*10000)|pprint|length }}",
    "~": "{{ (['x'*1000000]*10000 ~ '')|length }}",
    "'{0}'*N .format": "{{ ('{0}'*300000).format('x'*1000000)|length }}",
    "'%s'|format(list)": "{{ '%s'|format(['x'*1000000]*10000)|length }}",
    "|sort": "{{ (['x'*1000000]*10000)|sort|length }}",
    "{% set %} block": (
        "{% set s %}{% for i in 'x' * 5000 %}{{ 'y' * 1000000 }}{% endfor %}{% endset %}{{ s|length }}"
    ),
}


def _measure(template: str, redis_url: str, cap_mb: int) -> dict[str, Any]:
    """In this (fresh) process: build an app on a new SQLite file, save one campaign, measure."""
    sys.path.insert(0, os.environ.get("BENCH_CODE", str(ROOT)))
    folder = tempfile.mkdtemp(prefix="sender-bench-")
    env = {
        "INSTANCE_PATH": folder,
        "DATABASE_URL": f"sqlite:///{folder}/bench.db",
        "REDIS_URL": redis_url,
        "SECRET_KEYS": "bench-key-0123456789abcdef",
        "HASH_KEY": "bench-hash-key-0123456789abcdef",
        "PUBLIC_BASE_URL": "https://sender.test",
        "PUBLIC_RATE_LIMIT": "10000 per minute",
    }
    from sender import create_app
    from sender.config import load_settings
    from sender.migrate import upgrade
    from sender.runtime import build_runtime
    from sender.services.accounts import users

    settings = load_settings(env)
    upgrade(settings.database_url)
    runtime = build_runtime(settings)
    with runtime.Session() as session:
        user = users.create_user(session, "bench@example.org", "admin", "bench password 0123")
        token = users.issue_token(session, user).value
        session.commit()
    client = create_app({"TESTING": True}, runtime=runtime).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    purpose = {
        "slug": "newsletter",
        "name": "Newsletter",
        "description": "News.",
        "legal_basis": "consent",
        "retention_days": 1095,
        "consent_validity_days": 730,
        "requires_double_opt_in": False,
        "data_categories": ["email address"],
        "processors": [],
        "transfers": [],
    }
    client.post("/api/v1/purposes", json=purpose, headers=headers)
    wording = {"text": "Yes, send me the newsletter.", "privacy_notice_version": "1"}
    client.post("/api/v1/purposes/newsletter/wordings", json=wording, headers=headers)
    list_id = client.post("/api/v1/lists", json={"name": "All"}, headers=headers).json["id"]
    body = {
        "name": "Hostile",
        "purpose": "newsletter",
        "lists": [list_id],
        "subject": template,
        "body_html": template,
        "body_text": template,
    }
    # Warm up: the same request with a harmless template, so the figures are the template's own (a child
    # process that checks templates, where there is one, is started by then).
    harmless = "Hello {{ contact.first_name }}"
    client.post(
        "/api/v1/campaigns",
        json={**body, "subject": harmless, "body_html": harmless, "body_text": harmless},
        headers=headers,
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cap = cap_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    start = time.perf_counter()
    try:
        answer = client.post("/api/v1/campaigns", json=body, headers=headers)
        status, detail = answer.status_code, answer.get_data(as_text=True)
    except MemoryError:
        status, detail = 0, f"MemoryError at the {cap_mb} MB cap"
    seconds = time.perf_counter() - start
    return {
        "status": status,
        "seconds": round(seconds, 2),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_mb": round(before / 1024),
        "detail": detail[:160],
    }


def main() -> None:
    """Run each template in its own process and print one line per template."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-mb", type=int, default=3072, help="address-space cap of each web process")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a web process is killed")
    parser.add_argument("--only", help="run only the template with this name")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    if args.child:
        print(json.dumps(_measure(HOSTILE[args.child], redis_url, args.cap_mb)))
        return
    print(f"{'template':24} {'status':>6} {'seconds':>8} {'peak RSS':>9} {'before':>9}  answer")
    for name in HOSTILE:
        if args.only and name != args.only:
            continue
        command = [sys.executable, __file__, "--child", name, "--cap-mb", str(args.cap_mb)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout, check=False)
            lines = done.stdout.strip().splitlines()
            row = json.loads(lines[-1]) if lines else {"status": "crash", "detail": done.stderr[-160:]}
        except subprocess.TimeoutExpired:
            row = {
                "status": "killed",
                "seconds": args.timeout,
                "detail": f"still running after {args.timeout} s",
            }
        print(
            f"{name:24} {row.get('status')!s:>6} {row.get('seconds', '')!s:>8} "
            f"{str(row.get('rss_mb', '')) + ' MB':>9} {str(row.get('rss_before_mb', '')) + ' MB':>9}  "
            f"{row.get('detail', '')}"
        )


if __name__ == "__main__":
    main()
