"""RQ entry point of CSV imports: a batch id in, the import service's run, a small JSON-able result out."""

from __future__ import annotations

from typing import Any

from flask import current_app

from sender import work
from sender.runtime import Runtime
from sender.services.audience import imports
from sender.tasks.queue import publish_progress


def run_import(batch_id: int) -> dict[str, Any]:
    """Run the dry run or the commit that was started for this batch; a finished batch is left alone."""
    runtime: Runtime = current_app.extensions["sender"]
    with work.unit(runtime.Session, "import run") as session:
        batch = imports.get(session, batch_id)
        if batch.status not in imports.RUNNING:
            return {"skipped": f"batch is {batch.status}"}
        imports.execute(
            session,
            runtime.settings,
            batch,
            progress=lambda fraction: publish_progress(runtime.redis, batch_id, fraction),
        )
        return {"status": batch.status, "total_rows": batch.total_rows, "refused": batch.refused}
