"""Model descriptions: presets, YAML files and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicenter.domain.errors import InputError, NotFoundError
from aicenter.planner.model import (
    ModelKind,
    Recompute,
    StageKind,
    derived_dense_model,
    find_preset,
    load_model_file,
    presets,
    resolve_model,
)
from tests.conftest import EXAMPLES

REQUIRED_PRESETS = {
    "deepseek-v3", "deepseek-r1-rl", "llama-3.1-405b", "llama-3.1-70b", "llama-3.1-8b",
    "llama-2-70b", "bloom-176b", "exaone-3.0-7.8b", "generic-7b", "generic-32b",
}


def test_presets_cover_the_issue_and_name_sources() -> None:
    table = presets()
    assert set(table) >= REQUIRED_PRESETS
    for spec in table.values():
        assert spec.source, spec.name
        assert spec.active_params <= spec.total_params
    v3 = table["deepseek-v3"]
    assert v3.kind is ModelKind.MOE and v3.active_params == 37e9 and v3.total_params == 671e9
    assert [s.kind for s in v3.stages] == [
        StageKind.CONTEXT_EXTENSION, StageKind.CONTEXT_EXTENSION, StageKind.POST_TRAINING
    ]
    assert table["deepseek-r1-rl"].default_stage is StageKind.RL
    assert table["bloom-176b"].recompute is Recompute.FULL


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("DeepSeek-V3 (pre-training only)", "deepseek-v3"),
        ("DeepSeek-R1 (RL post-training on V3 base)", "deepseek-r1-rl"),
        ("Llama 3.1 405B", "llama-3.1-405b"),
        ("Llama 2 70B", "llama-2-70b"),
        ("LG EXAONE 3.0 7.8B", "exaone-3.0-7.8b"),
        ("Apertus 70B", None),
    ],
)
def test_find_preset_from_free_text(text: str, name: str | None) -> None:
    found = find_preset(text)
    assert (found.name if found else None) == name


def test_example_files_load() -> None:
    files = sorted((EXAMPLES / "models").glob("*.yaml"))
    assert len(files) >= 2
    specs = [load_model_file(f) for f in files]
    assert any(s.is_moe for s in specs) and any(not s.is_moe for s in specs)


def test_resolve_unknown_model_suggests() -> None:
    with pytest.raises(NotFoundError, match=r"did you mean llama-3\.1-8b"):
        resolve_model("llama-3.1-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """name: tiny
total_params_b: 1.2
layers: 16
hidden_size: 2048
heads: 16
seq_len: 2048
"""


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    spec = load_model_file(_write(tmp_path, GOOD))
    assert spec.kind is ModelKind.DENSE and spec.active_params == spec.total_params == 1.2e9
    assert spec.kv_heads == 16 and spec.head_dim == 128 and spec.vocab == 32000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("layers: 16\n", ""), r"m\.yaml: field 'layers': missing required key"),
        (GOOD.replace("layers: 16", "layers: -3"), r"m\.yaml:3: field 'layers': must be a pos"),
        (GOOD.replace("heads: 16", "heads: 16\nkv_heads: 5"), r"m\.yaml:6: field 'kv_heads'"),
        (GOOD + "kind: hybrid\n", r"m\.yaml:7: field 'kind': 'hybrid' is not one of dense, moe"),
        (GOOD + "active_params_b: 0.5\n", r"field 'active_params_b': a dense model"),
        (GOOD + "colour: red\n", r"field 'colour': unknown key"),
        (GOOD + "stages:\n  - kind: pretraining\n", r"field 'stages\[0\]\.kind'"),
        ("name: [unclosed\n", r"m\.yaml:2: not valid YAML"),
        ("- a list\n", r"m\.yaml: a model file must be a mapping"),
        (GOOD + "flops_per_token: 1e6\n", r"field 'flops_per_token'"),
    ],
)
def test_bad_files_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_model_file(_write(tmp_path, text))


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read model file"):
        load_model_file(tmp_path / "absent.yaml")


def test_derived_shape_matches_the_parameter_count() -> None:
    spec = derived_dense_model("x", 70e9, 70e9)
    assert spec.derived and spec.hidden_size % 128 == 0
    assert 12 * spec.layers * spec.hidden_size**2 == pytest.approx(70e9, rel=0.1)
