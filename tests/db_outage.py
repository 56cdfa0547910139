"""A database a test can make unreachable and bring back, without touching the shared server.

PostgreSQL is reached through a small TCP proxy of the test's own: cutting it closes the listening port
and every connection through it, as a network failure or a server restart would. SQLite gets a database
file of its own, which is taken away (a directory stands in its place) and put back.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
from pathlib import Path

from sqlalchemy.engine import make_url

from sender.migrate import upgrade


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class TcpProxy:
    """Forwards a local port to one server; `close()` refuses and drops everything, `open()` listens again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = _free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        """Listen on the proxy's port and forward each connection."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.settimeout(0.1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop listening and cut every forwarded connection."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class DatabaseOutage:
    """A database URL that works until `cut()`, and again after `restore()`."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self._proxy: TcpProxy | None = None
        self._file: Path | None = None
        # An open SQLite connection keeps the file it opened: only new connections meet the outage.
        self.pooled = database_url.startswith("postgresql")
        if self.pooled:
            real = make_url(database_url)
            self._proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
            self.url = real.set(host="127.0.0.1", port=self._proxy.port).render_as_string(hide_password=False)
        else:
            self._file = folder / "outage.db"
            self.url = f"sqlite:///{self._file}"
            upgrade(self.url)

    def cut(self) -> None:
        """Make the database unreachable now."""
        if self._proxy is not None:
            self._proxy.close()
        if self._file is not None:
            # The file goes away and a folder takes its name: opening it fails, as on a lost volume.
            self._file.rename(self._file.with_suffix(".away"))
            self._file.mkdir()

    def restore(self) -> None:
        """Bring the same database back."""
        if self._proxy is not None:
            self._proxy.open()
        if self._file is not None:
            self._file.rmdir()
            self._file.with_suffix(".away").rename(self._file)

    def __enter__(self) -> DatabaseOutage:
        if self._proxy is not None:
            self._proxy.open()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proxy is not None:
            self._proxy.close()
        if self._file is not None and self._file.is_dir():
            shutil.rmtree(self._file)
