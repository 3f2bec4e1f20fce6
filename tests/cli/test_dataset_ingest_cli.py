from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from aicenter.exchange.synthetic import korean_news_text
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AICENTER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def write_jsonl(path: Path) -> int:
    lines = korean_news_text(4, 60_000).splitlines()
    with path.open("w", encoding="utf-8") as f:
        for i, text in enumerate(lines):
            row = {
                "text": text + (" 연락처 02-123-4567" if i == 0 else ""),
                "id": f"n{i}",
                "publisher": "가나일보",
                "tdm_reservation": 1 if i == 1 else 0,
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(lines)


def test_ingest_json_then_croissant_export_and_validate(
    cli: Cli, tmp_path: Path, home: Path
) -> None:
    n = write_jsonl(tmp_path / "news.jsonl")
    r = cli(
        "dataset", "ingest", tmp_path / "news.jsonl", "--dataset", "news", "--provider", "gana",
        "--licence", "CC-BY-NC-4.0", "--pii-action", "phone=redact", "--format", "json",
    )  # fmt: skip
    assert r.code == 0, r.err
    result = json.loads(r.out)
    assert result["counts"]["records_read"] == n
    assert result["counts"]["tdm_excluded"] == 1
    assert result["counts"]["kept"] == n - 1 == result["records"]
    assert result["pii_report"]["counts"] == {"phone": 1}
    assert Path(result["manifest_path"]).is_file()
    assert str(Path(result["manifest_path"])).startswith(str(home / "datasets"))

    r = cli("dataset", "croissant", "export", "news", "--out", tmp_path / "news.croissant.json")
    assert r.code == 0, r.err
    doc_path = Path(r.out.strip())
    r = cli("dataset", "croissant", "validate", doc_path, "--format", "json")
    assert r.code == 0, r.err
    assert json.loads(r.out) == {"file": str(doc_path), "valid": True, "problems": []}

    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    url = doc["distribution"][0]["contentUrl"]
    doc["distribution"][0]["sha256"] = "f" * 64
    doc_path.write_text(json.dumps(doc), encoding="utf-8")
    r = cli("dataset", "croissant", "validate", doc_path)
    assert r.code == 2
    assert r.err.startswith("error: ") and url in r.err and "sha256 mismatch" in r.err


def test_ingest_table_output_and_tdm_covered(cli: Cli, tmp_path: Path, home: Path) -> None:
    write_jsonl(tmp_path / "news.jsonl")
    r = cli(
        "dataset", "ingest", tmp_path / "news.jsonl", "--dataset", "news", "--provider", "gana",
        "--tdm-covered", "가나일보",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert "tdm_reserved_kept" in r.out and "news" in r.out


def test_ingest_bad_input_is_one_line_exit_2(cli: Cli, tmp_path: Path, home: Path) -> None:
    write_jsonl(tmp_path / "news.jsonl")
    base = ["dataset", "ingest", tmp_path / "news.jsonl", "--provider", "gana"]
    r = cli(*base, "--dataset", "news", "--pii-action", "phone=shred")
    assert r.code == 2 and r.err.count("\n") == 1 and "--pii-action" in r.err
    r = cli(*base, "--dataset", "../up")
    assert r.code == 2 and "dataset" in r.err
    r = cli("dataset", "ingest", tmp_path / "missing.jsonl", "--dataset", "x", "--provider", "p")
    assert r.code == 2 and "missing.jsonl" in r.err
    (tmp_path / "bad.jsonl").write_text('{"text": "a"}\n{"body": "b"}\n', encoding="utf-8")
    r = cli("dataset", "ingest", tmp_path / "bad.jsonl", "--dataset", "x", "--provider", "p")
    assert r.code == 2 and "bad.jsonl:2" in r.err and "text" in r.err


def test_scan_still_works(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("전화 010-2345-6789\n", encoding="utf-8")
    r = cli("dataset", "scan", tmp_path / "a.txt", "--format", "json")
    assert r.code == 0 and json.loads(r.out)["counts"] == {"phone": 1}
