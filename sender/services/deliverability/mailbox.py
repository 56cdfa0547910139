"""The IMAP door: read the bounce mailbox (BOUNCE_IMAP_URL), apply each report, then move or delete it.

Messages are read in chunks without marking them seen; each chunk is one unit of work, and only once it has
committed are its messages moved to BOUNCE_IMAP_PROCESSED (or deleted when that is empty). A crash between
the commit and the move leaves them in the folder: the next run reads them again and finds them applied.
No IMAP command runs inside the write transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from imap_tools import BaseMailBox, MailBox, MailBoxUnencrypted, MailMessage

from sender import work
from sender.config_deliverability import ImapMailbox, imap_mailbox
from sender.i18n import N_
from sender.runtime import Runtime
from sender.services.accounts.organisation import effective_settings
from sender.services.deliverability import intake
from sender.services.errors import NotConfigured

log = logging.getLogger(__name__)
SOURCE = "imap"
CHUNK = 200


class _RawMessage(MailMessage):
    """imap-tools' message keeping the bytes as fetched: the SMTP door hashes the same bytes."""

    def __init__(self, fetch_data: list[Any]) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = self._get_message_data_parts(fetch_data)[0]


@dataclass
class FetchReport:
    """How many messages were read, and what became of their reports."""

    messages: int = 0
    results: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, int]:
        """Counts for the command's one line of output."""
        return {"messages": self.messages, **{r.value: self.results[r.value] for r in intake.Result}}


@contextmanager
def connect(box: ImapMailbox) -> Iterator[BaseMailBox]:
    """A logged-in connection to the bounce folder (TLS with imaps://)."""
    client = MailBox(box.host, box.port) if box.tls else MailBoxUnencrypted(box.host, box.port)
    client.email_message_class = _RawMessage
    with client.login(box.user, box.password, initial_folder=box.folder) as mailbox:
        yield mailbox


def fetch(runtime: Runtime, *, chunk: int = CHUNK) -> FetchReport:
    """Process every message waiting in the bounce folder once."""
    settings = runtime.settings
    url = settings.deliverability.imap_url
    if not url:
        raise NotConfigured(
            {"BOUNCE_IMAP_URL": N_("is not set: imap[s]://user:password@host[:port][/FOLDER]")}
        )
    processed = settings.deliverability.imap_processed_folder
    report = FetchReport()
    with connect(imap_mailbox(url)) as mailbox:
        if processed and not mailbox.folder.exists(processed):
            mailbox.folder.create(processed)
        uids = mailbox.uids()
        for start in range(0, len(uids), chunk):
            done = _chunk(runtime, mailbox, uids[start : start + chunk], report)
            if processed:
                mailbox.move(done, processed)
            else:
                mailbox.delete(done)
    log.info("bounce mailbox read: %s", report.counts())
    return report


def _chunk(runtime: Runtime, mailbox: BaseMailBox, uids: list[str], report: FetchReport) -> list[str]:
    """Apply one chunk's reports in one unit of work; the uids read, for moving once it has committed."""
    done, raws = [], []
    # Fetched before the unit begins: no IMAP command runs inside the write transaction.
    for message in mailbox.fetch(uid_list=uids, mark_seen=False, bulk=True):
        raws.append(message.raw if isinstance(message, _RawMessage) else message.obj.as_bytes())
        if message.uid:
            done.append(message.uid)
    with work.unit(runtime.Session, "bounces.fetch") as session:
        settings = effective_settings(session, runtime.settings)
        # The chunk's reports as one batch: set-based, with the end state of applying them one by one.
        for results in intake.process_many(session, settings, [(raw, ()) for raw in raws], SOURCE):
            report.results.update(r.value for r in results)
    report.messages += len(raws)
    return done
