"""Attachment checks beyond the type: the size limit while the file streams in, archive bombs, the virus scanner."""

import io
import socket
import struct
import threading
import zipfile

import pytest
from django.core.files.uploadhandler import FileUploadHandler
from django.test import Client

from applications import uploads
from applications.models import Attachment
from tests.files import docx_bytes, pdf_bytes, upload, xlsx_bytes
from tests.portal import client_for, url

pytestmark = pytest.mark.django_db

EICAR_MARKER = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"


def post_file(editor, draft, name: str, content: bytes, *, language: str = "en"):
    return client_for(editor, language=language).post(
        url("attachment_upload", draft), {"kind": "budget", "file": upload(name, content)}
    )


def file_errors(response) -> list[str]:
    assert response.status_code == 200
    return response.context["attachment_form"].errors["file"]


# --- the size limit, while the file streams in ----------------------------------------------------------


class CountingHandler(FileUploadHandler):
    """Stands after the limit among the upload handlers and counts the bytes that reach it."""

    received = 0

    def receive_data_chunk(self, raw_data, start):
        CountingHandler.received += len(raw_data)
        return raw_data

    def file_complete(self, file_size):
        return None


def test_an_oversized_upload_is_stopped_while_it_streams_in(editor, draft, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    settings.FILE_UPLOAD_HANDLERS = [
        "tests.applications.test_attachment_checks.CountingHandler",
        *settings.FILE_UPLOAD_HANDLERS,
    ]
    CountingHandler.received = 0
    content = pdf_bytes() + b"\0" * (3 * 1024 * 1024)

    response = post_file(editor, draft, "groot.pdf", content, language="nl")

    assert file_errors(response) == ["Het bestand is groter dan 1 MB."]
    assert CountingHandler.received <= settings.ATTACHMENT_MAX_BYTES
    assert not Attachment.objects.exists()


def test_a_file_just_within_the_limit_is_taken(editor, draft, settings):
    content = pdf_bytes()
    settings.ATTACHMENT_MAX_BYTES = len(content)

    assert post_file(editor, draft, "plan.pdf", content).status_code == 302
    assert draft.attachments.get().size == len(content)


def test_the_upload_still_needs_its_csrf_token(editor, draft):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)

    response = client.post(url("attachment_upload", draft), {"kind": "budget", "file": upload("p.pdf", pdf_bytes())})

    assert response.status_code == 403
    assert not Attachment.objects.exists()


# --- archives: XLSX and DOCX are zip files --------------------------------------------------------------


def with_entries(content: bytes, entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO(content)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_archive_bomb_renamed_xlsx_is_refused(editor, draft, settings):
    settings.ATTACHMENT_ARCHIVE_MAX_BYTES = 1024 * 1024
    bomb = with_entries(xlsx_bytes(), {"xl/media/nullen.bin": b"\0" * (8 * 1024 * 1024)})
    assert len(bomb) < 100 * 1024

    response = post_file(editor, draft, "begroting.xlsx", bomb, language="nl")

    assert file_errors(response) == [
        "Het document pakt uit tot meer dan 1 MB; het is geweigerd als mogelijke archiefbom."
    ]
    assert not Attachment.objects.exists()


def test_an_archive_with_too_many_files_is_refused(editor, draft, settings):
    settings.ATTACHMENT_ARCHIVE_MAX_ENTRIES = 20
    crowded = with_entries(docx_bytes(), {f"word/media/{number}.xml": b"<a/>" for number in range(30)})

    [message] = file_errors(post_file(editor, draft, "raadsbesluit.docx", crowded))

    assert message == "The document holds more than 20 files; it is refused as a possible archive bomb."


def test_an_archive_whose_directory_understates_its_content_is_refused_as_damaged(editor, draft, settings):
    content = bytearray(with_entries(xlsx_bytes(), {"xl/media/nullen.bin": b"\0" * (2 * 1024 * 1024)}))
    # The central directory's uncompressed size of the last entry (offset 24 in its record) now says 10 bytes.
    record = content.rindex(b"PK\x01\x02")
    content[record + 24 : record + 28] = struct.pack("<L", 10)

    [message] = file_errors(post_file(editor, draft, "begroting.xlsx", bytes(content)))

    assert message == "The document is damaged."


def test_a_truncated_xlsx_is_refused_as_damaged(editor, draft):
    [message] = file_errors(post_file(editor, draft, "begroting.xlsx", xlsx_bytes()[:-200]))

    assert message == "The document is damaged."


@pytest.mark.parametrize(("name", "content"), [("begroting.xlsx", xlsx_bytes()), ("besluit.docx", docx_bytes())])
def test_ordinary_office_documents_pass_the_archive_check(editor, draft, name, content):
    assert post_file(editor, draft, name, content).status_code == 302


# --- the virus scanner ----------------------------------------------------------------------------------


class FakeClamd:
    """Answers clamd's INSTREAM like clamd: FOUND when the stream holds the EICAR marker, else OK."""

    def __init__(self, server: socket.socket):
        self.server = server
        self.streams: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _read(self, connection, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = connection.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                assert self._read(connection, len(b"zINSTREAM\0")) == b"zINSTREAM\0"
                stream = b""
                while length := struct.unpack("!L", self._read(connection, 4))[0]:
                    stream += self._read(connection, length)
                self.streams.append(stream)
                verdict = b"Eicar-Signature FOUND" if EICAR_MARKER in stream else b"OK"
                connection.sendall(b"stream: " + verdict + b"\0")


@pytest.fixture(params=["unix", "tcp"])
def clamd(request, settings, tmp_path):
    if request.param == "unix":
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = str(tmp_path / "clamd.sock")
        server.bind(path)
        settings.CLAMAV_SOCKET = path
    else:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind(("127.0.0.1", 0))
        settings.CLAMAV_SOCKET = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.listen()
    yield FakeClamd(server)
    server.close()


def test_an_infected_file_is_refused_with_a_clear_dutch_message(editor, draft, clamd):
    response = post_file(editor, draft, "plan.pdf", pdf_bytes(EICAR_MARKER.decode()), language="nl")

    assert file_errors(response) == ["Het bestand bevat een virus (Eicar-Signature) en is geweigerd."]
    assert not Attachment.objects.exists()


def test_a_clean_file_is_scanned_whole_and_stored(editor, draft, clamd):
    content = pdf_bytes() + b"%" * (200 * 1024)

    assert post_file(editor, draft, "plan.pdf", content).status_code == 302
    assert clamd.streams == [content]
    assert draft.attachments.get().size == len(content)


def test_without_a_reachable_scanner_the_file_is_refused(editor, draft, settings, tmp_path):
    settings.CLAMAV_SOCKET = str(tmp_path / "no-clamd.sock")

    response = post_file(editor, draft, "plan.pdf", pdf_bytes(), language="nl")

    assert file_errors(response) == [
        "Het bestand kon nu niet op virussen worden gecontroleerd. Probeer het later opnieuw."
    ]
    assert not Attachment.objects.exists()


def test_without_clamav_socket_nothing_is_scanned(editor, draft, settings, monkeypatch):
    def refuse(address):
        raise AssertionError(f"scanned through {address}")

    monkeypatch.setattr(uploads, "_connect", refuse)

    assert settings.CLAMAV_SOCKET == ""
    assert post_file(editor, draft, "plan.pdf", pdf_bytes()).status_code == 302


def test_the_scanner_hook_can_stand_in_for_clamd(editor, draft, monkeypatch):
    monkeypatch.setattr(uploads, "scan", lambda uploaded_file: "Win.Test.Fake")

    [message] = file_errors(post_file(editor, draft, "plan.pdf", pdf_bytes()))

    assert message == "The file contains a virus (Win.Test.Fake) and has been refused."
