"""Uploaded CSV files: stored in the database in chunks while hashed and their encoding found; read back as a stream.

The file never sits in memory whole: it is written chunk by chunk, and read back through a raw stream that
fetches one chunk at a time. Keeping it in the database (not Redis, not one host's disk) lets a worker on
any host run the import.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from sender.i18n import N_
from sender.models import ImportFileChunk
from sender.services.errors import ValidationFailed

CHUNK_BYTES = 1024 * 1024
SAMPLE_CHARS = 64 * 1024
DELIMITERS = ",;\t"
# Bytes cp1252 leaves undefined: a file holding them is read as Latin-1 instead.
_CP1252_UNDEFINED = re.compile(b"[\x81\x8d\x8f\x90\x9d]")


@dataclass(frozen=True)
class StoredFile:
    """What storing a file learnt about it."""

    sha256: str
    size: int
    encoding: str


def store(session: Session, batch_id: int, stream: IO[bytes], max_bytes: int) -> StoredFile:
    """Copy a binary stream into the batch's chunks, hashing it and finding its encoding on the way."""
    sha = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    size = seq = 0
    head = b""
    utf8_ok = cp1252_ok = True
    has_nul = False
    while data := stream.read(CHUNK_BYTES):
        size += len(data)
        if size > max_bytes:
            raise ValidationFailed(
                {
                    "file": N_(
                        "is larger than the %(max_bytes)s bytes allowed (IMPORT_MAX_BYTES)",
                        max_bytes=max_bytes,
                    )
                }
            )
        if len(head) < 4:
            head = (head + data)[:4]
        sha.update(data)
        if utf8_ok:
            try:
                utf8.decode(data)
            except UnicodeDecodeError:
                utf8_ok = False
        cp1252_ok = cp1252_ok and not _CP1252_UNDEFINED.search(data)
        has_nul = has_nul or b"\x00" in data
        session.execute(insert(ImportFileChunk).values(batch_id=batch_id, seq=seq, data=data))
        seq += 1
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    return StoredFile(sha.hexdigest(), size, _encoding(head, size, utf8_ok, cp1252_ok, has_nul))


def _encoding(head: bytes, size: int, utf8_ok: bool, cp1252_ok: bool, has_nul: bool) -> str:
    if size == 0:
        raise ValidationFailed({"file": N_("is empty")})
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(b"PK\x03\x04"):
        raise ValidationFailed(
            {"file": N_("is a ZIP archive (an Excel .xlsx workbook?): save it as CSV first")}
        )
    if has_nul:
        raise ValidationFailed({"file": N_("holds NUL bytes: it is not a CSV text file")})
    if utf8_ok:
        return "utf-8"
    # Spreadsheets on Windows save "CSV" in cp1252, a superset of Latin-1 for the printable range.
    return "cp1252" if cp1252_ok else "latin-1"


class ChunkStream(io.RawIOBase):
    """The stored file as a readable raw stream, one database chunk in memory at a time."""

    def __init__(self, session: Session, batch_id: int, stop: int | None = None) -> None:
        super().__init__()
        self._stop = stop
        self._session = session
        self._batch_id = batch_id
        self._seq = 0
        self._buffer = memoryview(b"")
        self._done = False
        self.consumed = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill `target` from the current chunk, fetching the next one when it runs out."""
        while not self._buffer and not self._done:
            if self._stop is not None and self._seq >= self._stop:
                self._done = True
                break
            data = self._session.scalar(
                select(ImportFileChunk.data).where(
                    ImportFileChunk.batch_id == self._batch_id, ImportFileChunk.seq == self._seq
                )
            )
            self._seq += 1
            if data is None:
                self._done = True
            else:
                self._buffer = memoryview(bytes(data))
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        self.consumed += count
        return count


@contextmanager
def open_text(
    session: Session, batch_id: int, encoding: str, stop: int | None = None
) -> Iterator[tuple[io.TextIOWrapper, ChunkStream]]:
    """The stored file decoded as text (newlines kept for the csv module), with its raw stream for progress.

    With `stop`, only the chunks before that sequence number are read.
    """
    raw = ChunkStream(session, batch_id, stop)
    text = io.TextIOWrapper(io.BufferedReader(raw, 64 * 1024), encoding=encoding, newline="")
    try:
        yield text, raw
    finally:
        text.close()


def sniff_delimiter(sample: str) -> str:
    """The separator of a CSV sample: csv.Sniffer's guess if the header holds it, else the header's commonest."""
    header = sample.splitlines()[0] if sample else ""
    try:
        guess: str | None = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        guess = None
    if guess and guess in header:
        return guess
    counts = {sep: header.count(sep) for sep in DELIMITERS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def read_sample(text: io.TextIOWrapper) -> str:
    """The first lines of the text, whole lines only, for sniffing."""
    sample = text.read(SAMPLE_CHARS)
    if len(sample) == SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    return sample
