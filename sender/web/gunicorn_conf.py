"""gunicorn settings for sender (`gunicorn -c python:sender.web.gunicorn_conf ...`): metrics of exited workers.

With PROMETHEUS_MULTIPROC_DIR set, each gunicorn worker writes its metrics to files named by its pid; when one
exits (a restart, `--max-requests`, a crash), the arbiter adds them to the folder's totals.
"""

from __future__ import annotations

from typing import Any

from sender.metrics.exposition import fold_quietly


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn hook, in the arbiter: a worker process has exited."""
    fold_quietly(worker.pid)
