"""The import commands: all or nothing, every bad row reported by number."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from massline.directory.models import Category, Org, Responsibility
from massline.directory.queries import resolve_route


def _jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


@pytest.mark.django_db
def test_categories_orgs_and_the_responsibility_list_load_and_route(tmp_path, capsys):
    call_command("import_categories", _jsonl(tmp_path / "t.jsonl", [
        {"level1": "城乡建设", "level2": "城市建设和市政管理", "level3": "市政设施"},
        {"level1": "城乡建设", "level2": "城市建设和市政管理", "level3": "城管执法"},
    ]))
    assert "新增分类 4 个" in capsys.readouterr().out
    call_command("import_orgs", _jsonl(tmp_path / "o.jsonl", [
        {"code": "S1", "name": "东城街道", "kind": "street", "parent": "D1"},  # before its parent: order is free
        {"code": "D1", "name": "示范区", "kind": "district"},
        {"code": "U1", "name": "区城管委", "kind": "department", "parent": "D1"},
    ]))
    assert Org.objects.get(code="S1").parent.code == "D1"
    call_command("import_responsibility", _jsonl(tmp_path / "r.jsonl", [
        {"category": "城乡建设/城市建设和市政管理", "lead": "U1", "item": "市政设施维护"},
    ]))
    route = resolve_route(Category.objects.get(full_name="城乡建设/城市建设和市政管理/市政设施"),
                          Org.objects.get(code="S1"))
    assert route is not None and route.lead.code == "U1" and not route.backstop


@pytest.mark.django_db
def test_a_file_with_bad_rows_imports_nothing_and_names_each_row(tmp_path, capsys):
    call_command("import_orgs", _jsonl(tmp_path / "o.jsonl", [{"code": "D1", "name": "示范区", "kind": "district"}]))
    bad = _jsonl(tmp_path / "r.jsonl", [
        {"category": "不存在/的分类", "lead": "D1"},
        {"category": "", "lead": "NOPE"},
    ])
    with pytest.raises(CommandError, match="2 行有错误"):
        call_command("import_responsibility", bad)
    err = capsys.readouterr().err
    assert "第 1 行" in err and "第 2 行" in err and "NOPE" in err
    assert not Responsibility.objects.exists()
    with pytest.raises(CommandError, match="文件不存在"):
        call_command("import_categories", tmp_path / "missing.jsonl")
