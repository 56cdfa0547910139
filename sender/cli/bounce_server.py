"""`sender bounces serve`: an SMTP or LMTP receiver (aiosmtpd) for an MTA that forwards bounces to sender.

Each message is read and applied in a unit of work of its own (in a thread, off the event loop), then
accepted with 250. A message that reports nothing, or names a delivery we do not know, is accepted the
same way: the answer never tells a sender what is on file. A failure on our side (the database away)
answers 451, so the MTA keeps the message and tries again later.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from sender import work
from sender.runtime import Runtime
from sender.services.accounts.organisation import effective_settings
from sender.services.deliverability import intake

log = logging.getLogger(__name__)
SOURCE = "smtp"
# A bounce returns at most the original message; ours stay far below this.
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class BounceHandler:
    """aiosmtpd handler: every message that reaches the end of DATA goes through the intake."""

    def __init__(self, runtime: Runtime, lmtp: bool) -> None:
        self.runtime, self.lmtp = runtime, lmtp

    def _process(self, data: bytes, recipients: list[str]) -> list[intake.Result]:
        with work.unit(self.runtime.Session, "bounces.serve") as session:
            settings = effective_settings(session, self.runtime.settings)
            return intake.process(session, settings, data, SOURCE, recipients)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Apply the message's reports; 250 once committed, 451 when that failed."""
        data = envelope.original_content or b""
        recipients = list(envelope.rcpt_tos)
        try:
            results = await asyncio.get_running_loop().run_in_executor(None, self._process, data, recipients)
        except Exception as exc:
            log.error("bounce message not processed: %s", type(exc).__name__)
            reply = "451 4.3.0 could not process the report now; try again later"
        else:
            log.info("bounce message: %s", ",".join(results))
            reply = "250 2.0.0 OK"
        # LMTP answers once per recipient (RFC 2033 4.2).
        return "\r\n".join([reply] * len(recipients)) if self.lmtp else reply


def serve(runtime: Runtime, host: str, port: int, lmtp: bool) -> None:
    """Listen until SIGTERM or SIGINT."""
    handler = BounceHandler(runtime, lmtp)
    protocol = LMTP if lmtp else SMTP
    loop = asyncio.new_event_loop()

    def factory() -> Any:
        return protocol(handler, data_size_limit=MAX_MESSAGE_BYTES, decode_data=False, loop=loop)

    server = loop.run_until_complete(loop.create_server(factory, host=host, port=port))
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, loop.stop)
    bound = server.sockets[0].getsockname()
    print(f"bounces: {'LMTP' if lmtp else 'SMTP'} on {bound[0]}:{bound[1]}", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
