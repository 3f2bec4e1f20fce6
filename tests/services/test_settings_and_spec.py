"""Settings are documented and read from AICENTER_*; job specs fail with file, line, field."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicenter.domain.errors import InputError
from aicenter.domain.job import PriorityClass, parse_job_spec
from aicenter.settings import Settings


def test_every_setting_is_described() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description and len(field.description) > 15, name


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("AICENTER_HOME", str(tmp_path))
    monkeypatch.setenv("AICENTER_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("AICENTER_TOKEN", "aic_x")
    settings = Settings()
    assert settings.home == tmp_path and settings.url.endswith(":9999")
    assert settings.token == "aic_x"
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'aicenter.db'}"
    monkeypatch.setenv("AICENTER_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings().sqlalchemy_url == "postgresql+psycopg://u@h/db"


def test_a_full_spec() -> None:
    spec = parse_job_spec("""
name: llama-ft
command: [python train.py, echo done]
workdir: /data/run
env: {SEED: 1}
resources:
  - {chip: nvidia-h100-sxm, count: 8}
  - {chip: amd-mi300x, count: 8}
max_duration: 2h
priority: chase-team
workload: moe-training
datasets: [news-2025]
max_retries: 2
""")
    assert spec.command == "python train.py\necho done"
    assert [(r.chip, r.count) for r in spec.resources] == [("nvidia-h100-sxm", 8),
                                                           ("amd-mi300x", 8)]
    assert spec.max_duration_s == 7200 and spec.priority is PriorityClass.CHASE_TEAM
    assert spec.env == {"SEED": "1"} and spec.datasets == ("news-2025",)


@pytest.mark.parametrize(("text", "where"), [
    ("name: x\ncommand: c\nresources: [{chip: a, count: 0}]\n",
     "job.yaml:3: field 'resources[0].count'"),
    ("name: x\ncommand: c\nresources: [{chip: a}]\nmax_duration: soon\n",
     "job.yaml:4: field 'max_duration'"),
    ("name: X Y\ncommand: c\nresources: [{chip: a}]\n", "job.yaml:1: field 'name'"),
    ("name: x\nresources: [{chip: a}]\n", "job.yaml: field 'command'"),
    ("name: x\ncommand: c\nresources: [{chip: a}]\ngpus: 8\n", "job.yaml:4: field 'gpus'"),
    ("name: x\ncommand: c\nresources: [{chip: a}]\npriority: urgent\n",
     "job.yaml:4: field 'priority'"),
    ("name: [\n", "job.yaml:2"),
])
def test_bad_specs_name_file_line_and_field(text: str, where: str) -> None:
    with pytest.raises(InputError) as err:
        parse_job_spec(text, "job.yaml")
    assert str(err.value).startswith(where), str(err.value)
