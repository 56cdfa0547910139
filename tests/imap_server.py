"""A real IMAP server for tests: Debian's dovecot (dovecot-imapd) with its own configuration in a folder.

It listens on 127.0.0.1 with plain authentication against a passwd-file and keeps mail in a maildir under
the same folder. Nothing of the machine's own dovecot is used (its own base_dir, state_dir, log and
instance name). As root, dovecot runs its login and internal processes as the package's `dovenull` and
`dovecot` users and the mail as `dovecot` (it refuses mail as root); as any other user it runs everything
as that user, with chroot off. `.ci/run` installs dovecot-imapd when `dovecot` is missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from imap_tools import MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError

USER, PASSWORD = "bounces", "imap-test-password-0123"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _users() -> tuple[str, str, pwd.struct_passwd]:
    """Login user, internal user and mail owner: the package's users as root, else the current user."""
    if os.geteuid() == 0:
        return "dovenull", "dovecot", pwd.getpwnam("dovecot")
    me = pwd.getpwuid(os.geteuid())
    return me.pw_name, me.pw_name, me


class DovecotServer:
    """One dovecot instance serving one IMAP account."""

    def __init__(self) -> None:
        self.port = _free_port()
        # Not under pytest's tmp_path: dovecot's unprivileged processes must reach it (0700 above it there).
        self.folder = Path(tempfile.mkdtemp(prefix="sender-dovecot-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """BOUNCE_IMAP_URL of the account's INBOX."""
        return f"imap://{USER}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def _config(self) -> Path:
        login_user, internal_user, owner = _users()
        unprivileged = os.geteuid() != 0
        mail = self.folder / "mail"
        mail.mkdir()
        (self.folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        # dovecot's auth process (as root: the dovecot user) reads it; set its mode, whatever the process's
        # umask is (sender's CLI, run in-process by earlier tests, sets 0077).
        os.chmod(self.folder / "passwd", 0o644)
        # dovecot's own users (as root: dovecot, dovenull) must traverse the folder to reach the maildir.
        os.chmod(self.folder, 0o755)  # noqa: S103
        os.chown(mail, owner.pw_uid, owner.pw_gid)
        chroot = "  chroot =\n" if unprivileged else ""
        config = self.folder / "dovecot.conf"
        config.write_text(
            f"""
instance_name = sender-test-{self.port}
base_dir = {self.folder}/run
state_dir = {self.folder}/state
log_path = {self.folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = {owner.pw_uid}
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.folder}/passwd
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
{chroot}}}
service anvil {{
{chroot}}}
"""
        )
        return config

    def start(self) -> DovecotServer:
        """Start dovecot in the foreground (a child process) and wait until it greets."""
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        self._process = subprocess.Popen(
            [binary, "-F", "-c", str(self._config())], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"dovecot exited: {stderr} {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise TimeoutError(f"dovecot did not start: {self.log()}")
        # Ready means a login succeeds (it greets before its auth process is up).
        with self.mailbox():
            return self

    def log(self) -> str:
        """dovecot's own log (for failure messages)."""
        path = self.folder / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def mailbox(self) -> MailBoxUnencrypted:
        """A logged-in client of the account (INBOX selected); use as a context manager.

        dovecot greets before its auth process is up, and on a loaded machine an auth request can time out:
        both answer "[UNAVAILABLE] Temporary authentication failure", so the login is tried again a while.
        """
        deadline = time.monotonic() + 30
        while True:
            try:
                return MailBoxUnencrypted("127.0.0.1", self.port).login(USER, PASSWORD)
            except MailboxLoginError as exc:
                if "UNAVAILABLE" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        """Stop dovecot and remove its folder."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            if self._process.stderr:
                self._process.stderr.close()
            self._process = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        try:
            return self.start()
        except BaseException:
            # A server that never became ready is stopped too: no dovecot outlives a failed test.
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
