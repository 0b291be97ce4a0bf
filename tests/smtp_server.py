"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1, a free port): plain, with STARTTLS
and login, or SSL from the first byte, keeping every message it accepts.

    with SmtpServer() as smtp: ...                      # plain, no login
    with SmtpServer(tls=cert, login=("bot", "pw")) as smtp: ...   # STARTTLS + AUTH LOGIN/PLAIN
"""

from __future__ import annotations

import email
import shutil
import socket
import subprocess
from email.message import Message
from email.policy import default
from pathlib import Path

from tests.conftest import require, require_module


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl."""
    require(shutil.which("openssl") is not None, "openssl missing: scripts/test installs it")
    cert, key = folder / "smtp.crt", folder / "smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(
        self, *, tls: tuple[Path, Path] | None = None, ssl_only: bool = False, login: tuple[str, str] | None = None
    ):
        require_module("aiosmtpd")
        self.tls, self.ssl_only, self.login = tls, ssl_only, login
        self.port = _free_port()
        self.messages: list[Message] = []
        self.refuse: dict[str, tuple[int, str]] = {}
        """Recipient → (code, words) the server answers RCPT TO with."""

    def _context(self):
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
        return context

    def __enter__(self) -> SmtpServer:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        server = self

        class Handler:
            async def handle_RCPT(self, srv, session, envelope, address, rcpt_options):
                if address in server.refuse:
                    code, words = server.refuse[address]
                    return f"{code} {words}"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, srv, session, envelope):
                server.messages.append(email.message_from_bytes(envelope.content, policy=default))
                return "250 Message accepted"

        def authenticator(srv, session, envelope, mechanism, auth_data):
            ok = self.login is not None and (auth_data.login.decode(), auth_data.password.decode()) == self.login
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers the 535 itself

        kwargs: dict = {"hostname": "127.0.0.1", "port": self.port}
        if self.login:
            kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=self.tls is not None)
        if self.tls and self.ssl_only:
            kwargs["ssl_context"] = self._context()
        elif self.tls:
            kwargs.update(tls_context=self._context(), require_starttls=True)
        self.controller = Controller(Handler(), **kwargs)
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
