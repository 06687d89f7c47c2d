"""Checks on uploaded attachments beyond their type: size while they stream in, archives, viruses.

- SizeLimitUploadHandler stops reading a file once it passes ATTACHMENT_MAX_BYTES, so that an oversized upload
  never lands in memory or on disk whole.
- archive_problem() refuses an XLSX or DOCX (zip archives) that would unpack to more than
  ATTACHMENT_ARCHIVE_MAX_BYTES or holds more than ATTACHMENT_ARCHIVE_MAX_ENTRIES files: an archive bomb
  renamed .xlsx.
- scan() asks ClamAV's clamd over CLAMAV_SOCKET whether the file holds a virus; without the setting nothing is
  scanned.
"""

from __future__ import annotations

import socket
import struct
import zipfile
import zlib

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext as _

SCAN_CHUNK_BYTES = 64 * 1024


def too_large_message() -> str:
    return _("The file is larger than %(max)s MB.") % {"max": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)}


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops the upload as soon as a file passes `limit` bytes; `exceeded` then says so.

    The rest of the request body is read and thrown away (connection_reset=False), so the browser gets the page
    that explains the refusal instead of a broken connection.
    """

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def archive_problem(uploaded_file) -> str | None:
    """Why a zip-based document cannot be accepted, or None.

    The sizes in the archive's directory bound what unpacking yields (zipfile stops at them and checks each
    entry's checksum), so an archive whose directory understates its content fails as damaged.
    """
    uploaded_file.seek(0)
    try:
        with zipfile.ZipFile(uploaded_file) as archive:
            entries = archive.infolist()
            if len(entries) > settings.ATTACHMENT_ARCHIVE_MAX_ENTRIES:
                return _("The document holds more than %(max)s files; it is refused as a possible archive bomb.") % {
                    "max": settings.ATTACHMENT_ARCHIVE_MAX_ENTRIES
                }
            if sum(entry.file_size for entry in entries) > settings.ATTACHMENT_ARCHIVE_MAX_BYTES:
                return _("The document unpacks to more than %(max)s MB; it is refused as a possible archive bomb.") % {
                    "max": settings.ATTACHMENT_ARCHIVE_MAX_BYTES // (1024 * 1024)
                }
            if archive.testzip() is not None:
                return _("The document is damaged.")
    # Damaged, encrypted or of an unknown compression: nothing a spreadsheet or text program would open.
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        return _("The document is damaged.")
    finally:
        uploaded_file.seek(0)
    return None


class ScannerUnavailable(Exception):
    """clamd could not be reached or did not give a verdict."""


def _connect(address: str) -> socket.socket:
    """A connection to clamd: `tcp://host:port`, or else the path of its Unix socket."""
    timeout = settings.CLAMAV_TIMEOUT
    if address.startswith("tcp://"):
        host, _separator, port = address.removeprefix("tcp://").rpartition(":")
        return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(timeout)
    try:
        connection.connect(address)
    except OSError:
        connection.close()
        raise
    return connection


def _reply(connection: socket.socket) -> str:
    """clamd's answer to a command sent with the z prefix: text up to a NUL byte."""
    data = b""
    while b"\0" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def scan(uploaded_file) -> str | None:
    """The name of the virus clamd finds in the file, or None; None at once when CLAMAV_SOCKET is empty.

    clamd's INSTREAM command: the command, then the content in chunks each preceded by its length as four bytes
    in network order, then a length of zero. clamd answers "stream: OK" or "stream: <name> FOUND"; anything else
    (such as a file above clamd's StreamMaxLength) raises ScannerUnavailable, as does a failed connection.
    """
    address = settings.CLAMAV_SOCKET
    if not address:
        return None
    try:
        with _connect(address) as connection:
            connection.sendall(b"zINSTREAM\0")
            for chunk in uploaded_file.chunks(SCAN_CHUNK_BYTES):
                connection.sendall(struct.pack("!L", len(chunk)) + chunk)
            connection.sendall(struct.pack("!L", 0))
            reply = _reply(connection)
    except (OSError, ValueError) as error:
        raise ScannerUnavailable(str(error)) from error
    finally:
        uploaded_file.seek(0)
    if reply == "stream: OK":
        return None
    if reply.startswith("stream: ") and reply.endswith(" FOUND"):
        return reply.removeprefix("stream: ").removesuffix(" FOUND")
    raise ScannerUnavailable(reply or "no answer")
