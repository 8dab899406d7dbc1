"""The committed ``openapi.json`` is the code's API description, and that description is complete: an id for
every operation, and every refusal documented with the one error body ``ErrorOut`` (``{code, message, detail}``).

When this fails after an API change, regenerate the file: ``massline openapi --out openapi.json``.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from massline.core.management.commands.openapi import spec_text

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ERROR_REF = "#/components/schemas/ErrorOut"


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(spec_text())


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op


def _label(method: str, path: str) -> str:
    return f"{method.upper()} {path}"


def _is_staff(op: dict) -> bool:
    """Needs a token: a security requirement, and no empty (anonymous) alternative."""
    security = op.get("security") or []
    return bool(security) and {} not in security


def test_committed_openapi_json_is_the_code_spec():
    assert COMMITTED.is_file(), "openapi.json is missing: run `massline openapi --out openapi.json`"
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == spec_text(), (
        "openapi.json differs from the code's API: run `massline openapi --out openapi.json` and commit it")


@pytest.mark.django_db
def test_the_served_spec_is_the_committed_one(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert r.json() == json.loads(COMMITTED.read_text(encoding="utf-8"))


def test_the_spec_text_is_stable_and_readable():
    text = spec_text()
    assert text.endswith("}\n") and text == spec_text()
    assert "\\u" not in text  # Chinese stays readable
    parsed = json.loads(text)
    assert text == json.dumps(parsed, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def test_every_operation_has_a_unique_operation_id(spec):
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert ids and all(ids), [_label(m, p) for m, p, op in operations(spec) if not op.get("operationId")]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_the_error_body_is_code_message_detail(spec):
    error = spec["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == {"code", "message", "detail"}
    assert set(error["required"]) == {"code", "message"}
    assert error["properties"]["code"]["type"] == "string"
    assert error["properties"]["message"]["type"] == "string"


def test_every_refusal_is_documented_with_the_error_body(spec):
    wrong = []
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            if int(status) < 400:
                continue
            content = response.get("content", {})
            if list(content) != ["application/json"] or content["application/json"]["schema"] != {"$ref": ERROR_REF}:
                wrong.append(f"{_label(method, path)} {status}")
    assert not wrong, f"4xx/5xx answers without the ErrorOut body: {wrong}"


def test_every_operation_documents_the_refusals_it_can_give(spec):
    """Input that fails validation is 422, a body that cannot be parsed is 400, a missing object is 404."""
    missing = []
    for method, path, op in operations(spec):
        statuses = {int(s) for s in op["responses"]}
        need = set()
        if op.get("parameters") or op.get("requestBody"):
            need.add(422)
        if op.get("requestBody"):
            need.add(400)
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            need.add(404)
        if need - statuses:
            missing.append(f"{_label(method, path)}: {sorted(need - statuses)}")
    assert not missing, missing


def test_staff_operations_document_401_and_403(spec):
    staff = [(m, p, op) for m, p, op in operations(spec) if _is_staff(op)]
    assert len(staff) > 20  # the demand actions, reads, group visits, the inbox
    missing = [f"{_label(m, p)}: {sorted({401, 403} - {int(s) for s in op['responses']})}"
               for m, p, op in staff if not {401, 403} <= {int(s) for s in op["responses"]}]
    assert not missing, missing


def test_operations_that_accept_a_token_document_401(spec):
    """An operation that reads a token when one is sent (submit) refuses a bad one with 401."""
    missing = [_label(m, p) for m, p, op in operations(spec) if op.get("security") and "401" not in op["responses"]]
    assert not missing, missing


def test_rate_limited_operations_document_429(spec):
    from massline.api import api

    limited = set()
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                if "ratelimit.check(" in inspect.getsource(operation.view_func):
                    limited.add(operation.operation_id)
    assert {"submit_demand", "track_demand", "issue_token"} <= limited
    by_id = {op["operationId"]: op for _, _, op in operations(spec)}
    missing = sorted(i for i in limited if "429" not in by_id[i]["responses"])
    assert not missing, missing


def test_anonymous_submission_is_documented_as_optional_login(spec):
    op = spec["paths"]["/api/v1/demands"]["post"]
    assert {} in op["security"] and any("OptionalTokenAuth" in s for s in op["security"])


# --- the command ------------------------------------------------------------------------------------

def test_out_writes_the_spec(tmp_path):
    target = tmp_path / "spec.json"
    call_command("openapi", "--out", str(target))
    assert target.read_text(encoding="utf-8") == spec_text()


def test_check_passes_on_the_committed_file(capsys):
    call_command("openapi", "--check", str(COMMITTED))
    assert "OK" in capsys.readouterr().out


def test_check_fails_with_a_diff_when_the_file_is_stale(tmp_path, capsys):
    stale = json.loads(spec_text())
    version = stale["info"]["version"]
    stale["info"]["version"] = "0.0.0-stale"
    target = tmp_path / "stale.json"
    target.write_text(json.dumps(stale, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="openapi --out"):
        call_command("openapi", "--check", str(target))
    err = capsys.readouterr().err
    assert '-    "version": "0.0.0-stale"' in err and f'+    "version": "{version}"' in err


def test_check_fails_clearly_on_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="无法读取"):
        call_command("openapi", "--check", str(tmp_path / "nope.json"))


def test_print_writes_the_spec_to_stdout(capsys):
    call_command("openapi")
    assert capsys.readouterr().out == spec_text()
