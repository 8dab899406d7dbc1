import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from textclf.cli import main

REPO = Path(__file__).resolve().parents[2]


def run(argv, stdin=""):
    out = io.StringIO()
    code = main(argv, stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def cli_model(data_file, tmp_path_factory):
    d = tmp_path_factory.mktemp("climodel")
    code, out = run(["train", "--data", str(data_file), "--out", str(d)])
    assert code == 0
    summary = json.loads(out)
    assert summary["n"] == 96 and len(summary["labels"]) == 4
    assert (d / "model.json").is_file() and (d / "arrays.npz").is_file()
    return d


def test_train_records_the_data_file(cli_model, data_file):
    meta = json.loads((cli_model / "model.json").read_text(encoding="utf-8"))
    import hashlib

    assert meta["training"]["source"]["file_sha256"] == hashlib.sha256(data_file.read_bytes()).hexdigest()


def test_evaluate_json_keys(cli_model, data_file):
    code, out = run(["evaluate", "--model", str(cli_model), "--data", str(data_file), "--json"])
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    r = json.loads(lines[0])
    for key in (
        "macro_f1",
        "accuracy",
        "per_class",
        "confusion",
        "n",
        "latency_ms_p50",
        "latency_ms_p99",
        "throughput_per_s",
        "ece",
    ):
        assert key in r, key
    assert r["n"] == 96
    assert set(r["per_class"]) == set(r["confusion"]["labels"])
    m = r["confusion"]["matrix"]
    assert len(m) == len(r["confusion"]["labels"]) and sum(map(sum, m)) == 96
    assert 0 <= r["ece"] <= 1 and 0 <= r["macro_f1"] <= 1
    assert r["latency_ms_p50"] <= r["latency_ms_p99"]


def test_evaluate_table(cli_model, data_file):
    code, out = run(["evaluate", "--model", str(cli_model), "--data", str(data_file)])
    assert code == 0
    assert "macro-F1" in out and "ECE" in out and "交通运输" in out


def test_predict_reads_lines_from_stdin(cli_model):
    stdin = '工厂偷排废气\n\n{"id": 7, "title": "拖欠农民工工资", "detail": "讨薪无果"}\n'
    code, out = run(["predict", "--model", str(cli_model)], stdin)
    assert code == 0
    rows = [json.loads(x) for x in out.strip().splitlines()]
    assert len(rows) == 2
    assert rows[0]["label"] == "环境保护"
    assert rows[1]["id"] == 7 and rows[1]["label"] == "劳动和社会保障"
    for row in rows:
        assert len(row["top"]) == 3 and row["top"][0] == [row["label"], row["score"]]


def test_predict_whole_input_is_one_message(cli_model):
    code, out = run(
        ["predict", "--model", str(cli_model), "--whole"], "学校补课\n老师要求交补课费\n周末也补\n"
    )
    assert code == 0
    rows = out.strip().splitlines()
    assert len(rows) == 1 and json.loads(rows[0])["label"] == "教育文体"


def test_bad_data_line_is_reported(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "a", "detail": "", "label": "x"}\n{oops\n{"title": "b"}\n', encoding="utf-8")
    code, _ = run(["train", "--data", str(bad), "--out", str(tmp_path / "m")])
    assert code == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "not valid JSON" in err
    assert "line 3" in err and "label" in err
    assert not (tmp_path / "m").exists()


def test_missing_model_is_exit_1(tmp_path, capsys):
    code, _ = run(["predict", "--model", str(tmp_path / "none")], "x\n")
    assert code == 1
    assert "model error" in capsys.readouterr().err


def test_usage_error_is_exit_2(capsys):
    code, _ = run(["evaluate", "--model", "x"])
    assert code == 2


def test_cv_json(data_file):
    code, out = run(["cv", "--data", str(data_file), "--folds", "3", "--json"])
    assert code == 0
    r = json.loads(out)
    assert r["folds"] == 3 and len(r["per_fold"]) == 3 and r["n"] == 96
    assert 0 <= r["macro_f1_std"] <= r["macro_f1_mean"] <= 1
    assert sum(f["n_test"] for f in r["per_fold"]) == 96


def test_python_dash_m_and_no_django(cli_model):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "textclf", "predict", "--model", str(cli_model)],
        input="公交车班次太少\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["label"] == "交通运输"
    code = "import sys, textclf, textclf.cli, textclf.evaluate; print(any(m.split('.')[0] in ('django', 'massline') for m in sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert proc.stdout.strip() == "False", proc.stderr
