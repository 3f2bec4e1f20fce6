from __future__ import annotations

import json
from pathlib import Path

import pytest

from aicenter.domain.errors import InputError
from aicenter.exchange.croissant import (
    export_croissant,
    import_croissant,
    load_document,
    validate,
    write_document,
)
from aicenter.exchange.store import DatasetStore, Manifest, StoredRecord


@pytest.fixture
def exported(tmp_path: Path) -> tuple[DatasetStore, Manifest, Path]:
    store = DatasetStore(tmp_path / "store")
    parts = [
        store.write_part([StoredRecord("기사 하나", "s1", "신문사", "2024-01-02", "public")]),
        store.write_part([StoredRecord("기사 둘", "s2", "신문사", None, None, True)]),
    ]
    manifest = Manifest("news-ko", "newsco", parts, licence="CC-BY-NC-4.0", description="news")
    out = tmp_path / "meta" / "news-ko.json"
    write_document(export_croissant(store, manifest, out, published="2026-11-27"), out)
    return store, manifest, out


def test_export_is_valid_for_mlcroissant_and_the_strict_profile(
    exported: tuple[DatasetStore, Manifest, Path],
) -> None:
    _store, _manifest, out = exported
    assert validate(out) == []


def test_round_trip_keeps_name_licence_creator_files_and_fields(
    exported: tuple[DatasetStore, Manifest, Path],
) -> None:
    _store, manifest, out = exported
    meta = import_croissant(load_document(out))
    assert (meta.name, meta.licence, meta.creator, meta.description) == (
        "news-ko",
        "CC-BY-NC-4.0",
        "newsco",
        "news",
    )
    assert meta.version == manifest.version
    assert [(f.sha256, f.bytes) for f in meta.files] == [
        (p.sha256, p.bytes) for p in manifest.parts
    ]
    assert meta.fields == ["text", "source", "publisher", "date", "consent", "tdm_reserved"]
    assert all((out.parent / url).is_file() for url in meta.content_urls)


def test_wrong_sha256_is_an_error_naming_the_file(
    exported: tuple[DatasetStore, Manifest, Path],
) -> None:
    _store, _manifest, out = exported
    doc = load_document(out)
    doc["distribution"][1]["sha256"] = "0" * 64
    write_document(doc, out)
    problems = validate(out)
    assert len(problems) == 1 and problems[0].checker == "profile"
    assert doc["distribution"][1]["contentUrl"] in problems[0].message
    assert "sha256 mismatch" in problems[0].message


def test_name_licence_and_sha256_are_required(
    exported: tuple[DatasetStore, Manifest, Path],
) -> None:
    _store, _manifest, out = exported
    doc = load_document(out)
    del doc["license"]
    doc["name"] = ""
    del doc["distribution"][0]["sha256"]
    write_document(doc, out)
    messages = [p.message for p in validate(out, use_mlcroissant=False)]
    assert "name is required" in messages and "license is required" in messages
    assert any(m.endswith("sha256 is required") for m in messages)


def test_mlcroissant_reports_a_broken_reference(
    exported: tuple[DatasetStore, Manifest, Path],
) -> None:
    _store, _manifest, out = exported
    doc = load_document(out)
    doc["recordSet"][0]["field"][0]["source"]["fileObject"]["@id"] = "no-such-file"
    write_document(doc, out)
    problems = validate(out)
    assert any(p.checker == "mlcroissant" and "no-such-file" in p.message for p in problems)


def test_not_json_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "name": oops\n}\n')
    with pytest.raises(InputError) as info:
        load_document(bad)
    assert f"{bad}:2" in str(info.value)


def test_rai_fields_and_publisher_come_from_the_reports(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "store")
    parts = [store.write_part([StoredRecord("연락처 [전화번호]", "s1", "신문사", None, None)])]
    manifest = Manifest(
        "news-ko", "org_123", parts, licence="proprietary", source_file="articles.jsonl",
        counts={"records_read": 5, "kept": 1, "tdm_excluded": 2, "tdm_reserved_kept": 1,
                "dropped_for_pii": 1, "duplicates": 1},
        pii_report={"records": 4, "records_with_pii": 2, "counts": {"phone": 2, "rrn": 1},
                    "samples": {"phone": ["010-****-5678"]}})
    out = tmp_path / "meta" / "news-ko.json"
    document = export_croissant(store, manifest, out, published="2026-11-27",
                                publisher="Daily News", pii_actions={"phone": "pseudonymise",
                                                                     "rrn": "drop"},
                                tdm_covered=["https://news.kr/tdm"], purposes=["pre-training"])
    assert document["creator"]["name"] == document["publisher"]["name"] == "Daily News"
    assert "org_123" not in json.dumps(document, ensure_ascii=False)
    sensitive = document["rai:personalSensitiveInformation"]
    assert "2 of 4 records" in sensitive and "phone 2 (pseudonymise)" in sensitive
    assert "rrn 1 (drop)" in sensitive and "010-" not in json.dumps(document)  # no samples
    protocol = document["rai:dataPreprocessingProtocol"]
    assert "2 records whose rights holder reserved" in protocol
    assert "https://news.kr/tdm" in protocol and "1 records dropped" in protocol
    assert "Daily News" in document["rai:dataCollection"]
    assert "5 records read, 1 kept" in document["rai:dataCollection"]
    assert "pre-training" in document["rai:dataUseCases"]
    assert document["rai:dataLimitations"] and document["rai:dataReleaseMaintenancePlan"]
    write_document(document, out)
    assert validate(out) == []  # mlcroissant accepts the RAI properties
