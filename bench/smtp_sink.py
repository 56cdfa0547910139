"""A minimal asyncio SMTP sink that only counts messages (aiosmtpd is too slow to measure a sender).

Run: python bench/smtp_sink.py PORT STATSFILE [LATENCY_MS] — it rewrites STATSFILE (JSON: count, first, last) at
most every 50 ms while messages arrive, and on SIGTERM. With LATENCY_MS, each message is answered that long after
its data arrived (each connection waits on its own), as a real relay takes time to queue a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time

STATS = {"count": 0, "first": None, "last": None}
LATENCY = 0.0


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 sink ESMTP\r\n")
    in_data = False
    while True:
        if in_data:
            # Read the whole body up to the terminating dot in one call.
            try:
                await reader.readuntil(b"\r\n.\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                break
            in_data = False
            if LATENCY:
                await asyncio.sleep(LATENCY)
            now = time.time()
            STATS["count"] += 1
            STATS["first"] = STATS["first"] or now
            STATS["last"] = now
            writer.write(b"250 2.0.0 queued\r\n")
            continue
        line = await reader.readline()
        if not line:
            break
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            writer.write(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
        elif verb == b"DATA":
            writer.write(b"354 go ahead\r\n")
            in_data = True
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:  # MAIL, RCPT, RSET, NOOP
            writer.write(b"250 ok\r\n")
        await writer.drain()
    writer.close()


def _dump(path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(STATS, fh)
    os.replace(tmp, path)


async def _main(port: int, path: str) -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", port, limit=1 << 22)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    _dump(path)
    async with server:
        seen = -1
        while not stop.is_set():
            if STATS["count"] != seen:
                seen = STATS["count"]
                _dump(path)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
    _dump(path)


if __name__ == "__main__":
    LATENCY = float(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.0
    asyncio.run(_main(int(sys.argv[1]), sys.argv[2]))
