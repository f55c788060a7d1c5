"""一套材料: uploads with type and size rules, a checksum, shared by the case's departments; 电子证照."""
from __future__ import annotations

import hashlib

import pytest

from engine.cases import accept_case
from engine.delivery import deliver
from engine.directory import create_department
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.history import events_of
from engine.materials import MAX_SIZE, add_material, documents_of, get_material, materials_of
from engine.models import MissingMaterial
from tests.factories import make_case, make_definition, make_staff, make_user
from tests.window_data import DOCX, JPEG, PDF, PNG, review_all


@pytest.fixture
def staff(session, clock):
    users = make_staff(session, clock)
    make_definition(session, clock)
    return users


def test_the_window_uploads_a_file_stored_with_its_checksum(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    material = add_material(session, clock, staff["window"], case.id, "C:\\scans\\营业执照.pdf", PDF, name="营业执照副本")
    assert (material.filename, material.name, material.kind) == ("营业执照.pdf", "营业执照副本", "application")
    assert material.content_type == "application/pdf" and material.size == len(PDF)
    assert material.sha256 == hashlib.sha256(PDF).hexdigest()
    assert material.uploaded_by_id == staff["window"].id and material.uploaded_at == clock.now()
    event = [e for e in events_of(session, case) if e.action == "material_uploaded"][0]
    assert event.details["sha256"] == material.sha256 and event.details["name"] == "营业执照副本"
    for name, content in (("a.png", PNG), ("b.JPG", JPEG), ("c.docx", DOCX)):
        add_material(session, clock, staff["window"], case.id, name, content)
    assert [m.name for m in materials_of(session, case)] == ["营业执照副本", "a", "b", "c"]


@pytest.mark.parametrize("filename, content, message", [
    ("setup.exe", b"MZ" + PDF, "only"),
    ("page.html", b"<html>", "only"),
    ("noextension", PDF, "only"),
    ("scan.pdf", PNG, "not a pdf"),
    ("photo.png", PDF, "not a png"),
    ("photo.jpg", b"<svg/>", "not a jpg"),
    ("form.docx", PDF, "not a docx"),
    ("empty.pdf", b"", "empty"),
    ("huge.pdf", PDF + b"0" * MAX_SIZE, "larger than 10 MiB"),
    ("", PDF, "file name is required"),
])
def test_type_and_size_rules(session, clock, staff, filename, content, message) -> None:
    case = make_case(session, clock, staff["window"])
    with pytest.raises(InvalidInput, match=message):
        add_material(session, clock, staff["window"], case.id, filename, content)
    assert materials_of(session, case) == []


def test_only_the_window_uploads(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    with pytest.raises(PermissionDenied):
        add_material(session, clock, staff["alpha"], case.id, "a.pdf", PDF)
    with pytest.raises(NotFound):
        add_material(session, clock, staff["window"], 9999, "a.pdf", PDF)
    with pytest.raises(InvalidInput, match="kind"):
        add_material(session, clock, staff["window"], case.id, "a.pdf", PDF, kind="other")


def test_departments_of_the_case_may_download_others_may_not(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    material = add_material(session, clock, staff["window"], case.id, "a.pdf", PDF)
    session.expire(material)
    for user in ("alpha", "beta", "supervisor", "window"):
        assert get_material(session, staff[user], case.id, material.id).content == PDF
    create_department(session, clock, "delta", "丁局")
    outsider = make_user(session, clock, "delta", ["reviewer"], "delta")
    with pytest.raises(PermissionDenied):
        get_material(session, outsider, case.id, material.id)
    with pytest.raises(NotFound):
        get_material(session, staff["window"], case.id + 1, material.id)


def test_result_documents_only_once_every_result_is_in(session, clock, staff) -> None:
    case = make_case(session, clock, staff["window"])
    with pytest.raises(Conflict, match="every department's result"):
        add_material(session, clock, staff["window"], case.id, "licence.ofd", DOCX, kind="result")
    review_all(session, clock, staff, case)
    result = add_material(session, clock, staff["window"], case.id, "licence.ofd", DOCX, name="网络文化经营许可证", kind="result")
    assert result.content_type == "application/ofd"
    deliver(session, clock, staff["window"], case.id, "pickup")
    with pytest.raises(Conflict, match="concluded"):
        add_material(session, clock, staff["window"], case.id, "late.pdf", PDF)
    docs = documents_of(session, case)
    assert [m.name for m in docs.results] == ["网络文化经营许可证"] and docs.materials == []


def test_an_upload_supplies_a_missing_material(session, clock, staff) -> None:
    case = accept_case(session, clock, staff["window"], "parallel_three", {"name": "张三"},
                       missing_materials=[{"name": "消防验收意见书", "promised_date": "2026-11-30"}])
    other = make_case(session, clock, staff["window"])
    missing = session.query(MissingMaterial).filter_by(case_id=case.id).one()
    assert documents_of(session, case).open_missing == [missing]
    with pytest.raises(NotFound):
        add_material(session, clock, staff["window"], other.id, "a.pdf", PDF, supplies=missing.id)
    with pytest.raises(InvalidInput, match="application material"):
        add_material(session, clock, staff["window"], case.id, "a.pdf", PDF, supplies=missing.id, kind="result")
    material = add_material(session, clock, staff["window"], case.id, "意见书.pdf", PDF, supplies=missing.id)
    assert (missing.supplied_at, missing.material_id) == (clock.now(), material.id)
    assert documents_of(session, case).open_missing == []
    with pytest.raises(Conflict, match="already supplied"):
        add_material(session, clock, staff["window"], case.id, "again.pdf", PDF, supplies=missing.id)
    supplied = [e for e in events_of(session, case) if e.action == "missing_material_supplied"]
    assert supplied[0].details["name"] == "消防验收意见书"
