"""Runs CSV: free-text hardware and numbers, unplannable rows, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicenter.catalog import Catalog
from aicenter.domain.errors import InputError
from aicenter.planner.model import StageKind
from aicenter.planner.runs import first_number, map_hardware, read_runs


@pytest.mark.parametrize(
    ("text", "chip"),
    [
        ("NVIDIA H800", "nvidia-h800"),
        ("NVIDIA A100-80GB (400 W)", "nvidia-a100-80gb"),
        ("NVIDIA H100-80GB (700 W)", "nvidia-h100-sxm"),
        ("AMD MI250X (LUMI, Finland)", "amd-mi250x"),
        ("NVIDIA GH200 (CSCS Alps)", "nvidia-gh200"),
        ("NVIDIA H200", "nvidia-h200"),
        ("Google TPU v4", "google-tpu-v4"),
        ("AWS Trainium1 (trn1)", "aws-trainium1"),
        ("Huawei Ascend NPU (910B-class)", "huawei-ascend-910b"),
        ("Huawei Ascend NPU", None),
        ("NVIDIA V100 (Microsoft)", None),
        ("undisclosed", None),
    ],
)
def test_map_hardware(catalog: Catalog, text: str, chip: str | None) -> None:
    assert map_hardware(text, catalog) == chip


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2664000", 2664000.0),
        ("~147000 (R1-Zero ~101K + SFT data ~5K)", 147000.0),
        ("~8.8M (derived 4096 x ~90 d)", 8.8e6),
        ("30,840,000", 30840000.0),
        ("256 MI250X (=512 GCDs)", 256.0),
        ("7.4 (6.3 core + 1.0 continued)", 7.4),
        ("", None),
        ("undisclosed", None),
    ],
)
def test_first_number(text: str, value: float | None) -> None:
    assert first_number(text) == value


HEADER = "model,total_params_b,activated_params_b,training_tokens_t,hardware,num_chips,gpu_hours,"
HEADER += "scope_of_hours,confidence,notes,source\n"


def test_rows_that_cannot_be_planned_are_kept_with_reasons(
    catalog: Catalog, tmp_path: Path
) -> None:
    path = tmp_path / "runs.csv"
    path.write_text(
        HEADER
        + "Llama 2 70B,70,70,2.0,NVIDIA A100-80GB (400 W),,1720320,pre-training,high,,x\n"
        + "Mystery 10B,10,10,1.0,Acme NPU,64,50000,pre-training,low,,y\n"
        + "No tokens,7,7,,NVIDIA H100,64,1000,pre-training,low,,z\n"
        + "DeepSeek-V3,671,37,14.8,NVIDIA H800,2048,2788000,"
        + "pre-training + context extension + post-training,high,,w\n",
        encoding="utf-8",
    )
    runs = read_runs(path, catalog)
    llama, mystery, no_tokens, v3 = runs
    assert llama.plannable and llama.count == 1024 and "unpublished" in llama.notes[0]
    assert not mystery.plannable and "Acme NPU" in mystery.problems[0]
    assert not no_tokens.plannable and "no training-token count" in no_tokens.problems
    assert v3.stages == (StageKind.PRETRAIN, StageKind.CONTEXT_EXTENSION,
                         StageKind.POST_TRAINING)
    assert mystery.line == 3


def test_missing_columns_and_files_are_errors(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("model,hardware\nx,y\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.csv:1: missing columns num_chips"):
        read_runs(path, catalog)
    with pytest.raises(InputError, match="cannot read runs"):
        read_runs(tmp_path / "absent.csv", catalog)
    path.write_text(HEADER.strip() + ",hours_basis\nA,1,1,1,NVIDIA H100,8,10,,high,,s,weekly\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.csv:2: field 'hours_basis'"):
        read_runs(path, catalog)
