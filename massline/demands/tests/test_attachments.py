"""Attachments through the API: recognised by content (not by name), size-capped, kept outside any web root
with their SHA-256, and downloadable only by someone who may see the demand."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import at
from massline.core import auth, clock
from massline.core.models import Event
from massline.demands import attachments, services
from massline.demands.intake import IntakeData
from massline.demands.models import Attachment, Demand

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    """A real 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


PNG = _png()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
FAKES = {
    "text": b"just some text pretending to be a picture",
    "html": b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
    "exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 100 + b"This program cannot be run",
}


@pytest.fixture
def demand(city) -> Demand:
    data = IntakeData(channel="hotline", type="complaint", title="路灯不亮", content="花园社区北门路灯坏了一周，晚上很黑。",
                      category_id=city.categories["市政设施"].pk, place_id=city.grids[0].pk, name="陈女士",
                      phone="13800001234")
    with clock.frozen(at(2026, 11, 2, 9, 30)):
        d, _ = services.receive(data, city.users["intake"])
        return services.dispatch(d.pk, city.users["dispatcher"])


def _token(city, username: str) -> str:
    return auth.issue(city.users[username], "test")


def _upload(d: Demand, token: str | None, name: str, content: bytes, content_type: str = "image/png"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client().post(f"/api/v1/demands/{d.pk}/attachments",
                         {"file": SimpleUploadedFile(name, content, content_type=content_type)}, headers=headers)


def _download(attachment_id: int, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client().get(f"/api/v1/demands/attachments/{attachment_id}", headers=headers)


def _files(settings) -> list[Path]:
    folder = Path(settings.ATTACHMENT_DIR)
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(("name", "content", "ctype", "ext"), [
    ("北门路灯.png", PNG, "image/png", ".png"),
    ("现场照片.jpg", JPEG, "image/jpeg", ".jpg"),
    ("维修单.pdf", PDF, "application/pdf", ".pdf"),
    ("看起来像文本.txt", PNG, "image/png", ".png"),  # recognised by what it is, not by its name
], ids=["png", "jpeg", "pdf", "png-named-txt"])
def test_a_real_image_or_pdf_is_kept_outside_the_web_root(city, demand, settings, name, content, ctype, ext):
    with clock.frozen(at(2026, 11, 2, 10)):
        r = _upload(demand, _token(city, "handler_street1"), name, content, "application/octet-stream")
    assert r.status_code == 201, r.content
    body = r.json()
    digest = hashlib.sha256(content).hexdigest()
    assert body["content_type"] == ctype and body["size"] == len(content) and body["sha256"] == digest
    assert body["name"] == name
    att = Attachment.objects.get(pk=body["id"])
    assert att.sha256 == digest and att.uploaded_by == city.users["handler_street1"]
    stored = attachments.path_for(att)
    assert stored.parent == Path(settings.ATTACHMENT_DIR)
    assert not stored.resolve().is_relative_to(Path(settings.STATIC_ROOT).resolve())
    assert stored.suffix == ext and stored.stem not in name and len(stored.stem) == 32  # a random name
    assert stored.read_bytes() == content
    assert _files(settings) == [stored]  # no leftover temporary file
    ev = Event.objects.get(chain=demand.chain, action="attach")
    assert ev.data["sha256"] == digest and ev.data["attachment_id"] == att.pk


def test_a_path_in_the_name_is_dropped(city, demand):
    r = _upload(demand, _token(city, "handler_street1"), "../../etc/照片.png", PNG)
    assert r.status_code == 201, r.content
    assert r.json()["name"] == "照片.png"


@pytest.mark.parametrize("kind", sorted(FAKES))
def test_a_disguised_file_is_refused(city, demand, settings, kind):
    r = _upload(demand, _token(city, "handler_street1"), "photo.png", FAKES[kind], "image/png")
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "unsupported_file"
    assert "PDF" in r.json()["message"]
    assert not Attachment.objects.exists()
    assert _files(settings) == []  # nothing left on disk


def test_a_file_over_the_cap_is_refused(city, demand, settings):
    settings.MAX_UPLOAD_MB = 1
    token = _token(city, "handler_street1")
    big = PNG + b"\x00" * (1024 * 1024)
    r = _upload(demand, token, "big.png", big)
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "file_too_large" and "1 MB" in r.json()["message"]
    assert not Attachment.objects.exists() and _files(settings) == []
    # just under the cap is fine
    ok = _upload(demand, token, "ok.png", PNG + b"\x00" * (1024 * 1024 - len(PNG)))
    assert ok.status_code == 201, ok.content


def test_an_empty_file_is_refused(city, demand):
    r = _upload(demand, _token(city, "handler_street1"), "empty.png", b"")
    assert r.status_code == 400 and r.json()["code"] == "empty_file"


def test_upload_needs_a_token_and_a_visible_demand(city, demand, settings):
    assert _upload(demand, None, "photo.png", PNG).status_code == 401
    r = _upload(demand, _token(city, "handler_water"), "photo.png", PNG)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert not Attachment.objects.exists() and _files(settings) == []


def test_download_only_for_those_who_may_see_the_demand(city, demand):
    att_id = _upload(demand, _token(city, "handler_street1"), "北门路灯.png", PNG).json()["id"]
    for username in ("handler_street1", "intake", "supervisor"):
        r = _download(att_id, _token(city, username))
        assert r.status_code == 200, (username, r.content)
        assert b"".join(r.streaming_content) == PNG
        assert r["Content-Type"] == "image/png"
        assert r["Content-Disposition"].startswith("attachment")
    for username in ("handler_water", "supervisor_street2", "nobody", "discipline"):
        r = _download(att_id, _token(city, username))
        assert r.status_code == 404, username
        assert r.json()["code"] == "not_found"
    assert _download(att_id, None).status_code == 401
    assert _download(att_id + 1000, _token(city, "handler_street1")).status_code == 404


def test_a_whistle_blowing_reports_files_are_for_discipline_only(city):
    data = IntakeData(channel="hotline", type="report", title="举报违规收费", content="物业违规收取停车费，数额较大。",
                      place_id=city.grids[0].pk, name="匿名群众", phone="13900001111", identity="confidential")
    with clock.frozen(at(2026, 11, 2, 9, 30)):
        d, _ = services.receive(data, city.users["discipline"])
    r = _upload(d, _token(city, "discipline"), "收据.jpg", JPEG, "image/jpeg")
    assert r.status_code == 201, r.content
    att_id = r.json()["id"]
    assert _download(att_id, _token(city, "discipline")).status_code == 200
    for username in ("intake", "supervisor", "leader", "admin", "handler_street1"):
        assert _download(att_id, _token(city, username)).status_code == 404, username
