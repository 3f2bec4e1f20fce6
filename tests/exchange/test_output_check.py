"""The output check's core: normalisation, winnowing's guarantee, findings with spans,
redaction, binary files, base64, and the labelled set."""

from __future__ import annotations

import base64
import unicodedata

import numpy as np

from aicenter.exchange.licence import OutputPolicy, strictest_output_policy
from aicenter.exchange.output_check import (
    MARKER,
    ServedSet,
    check_bytes,
    check_text,
    fingerprint,
    normalise,
    redact,
    shingle_hashes,
    winnow,
)
from tests.exchange.output_cases import labelled_cases, served_records

RECORDS = served_records(5, 60_000)
SERVED = [ServedSet.of("news", [fingerprint(RECORDS)])]


def test_normalisation_drops_spacing_and_case_and_maps_back() -> None:
    norm = normalise("Ab  c\n가 나")
    assert "".join(chr(c) for c in norm.codes) == "abc가나"
    assert norm.starts.tolist() == [0, 1, 4, 6, 8]
    decomposed = unicodedata.normalize("NFD", "한국어 기사")
    assert normalise(decomposed).codes.tolist() == normalise("한국어기사").codes.tolist()


def test_winnowing_keeps_a_shared_fingerprint_for_every_long_common_substring() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        codes = rng.integers(0xAC00, 0xD7A3, 200).astype(np.uint64)
        hashes = shingle_hashes(codes, 10)
        kept = set(hashes[winnow(hashes, 10)].tolist())
        start = int(rng.integers(0, 150))
        piece = shingle_hashes(codes[start:start + 19], 10)  # w + n − 1 characters
        assert kept & set(piece[winnow(piece, 10)].tolist())


def test_a_record_in_a_log_is_found_and_redacted_and_losses_pass() -> None:
    record = RECORDS[2]
    log = f"step 1 loss 2.31\n{record}\nstep 2 loss 2.02 {{'acc': 0.61}}\n"
    result = check_text(log, SERVED)
    assert not result.passed and result.findings[0].datasets == ("news",)
    assert redact(log, result.findings) == f"step 1 loss 2.31\n{MARKER}\nstep 2 loss 2.02 " \
                                           "{'acc': 0.61}\n"
    assert check_text("step 100 loss 2.31\nstep 200 loss 1.98\n", SERVED).passed


def test_an_excerpt_of_fifty_characters_is_found_a_short_phrase_is_not() -> None:
    record = RECORDS[4]
    assert not check_text("sample: " + record[10:60], SERVED).passed
    assert check_text("sample: " + record[10:24], SERVED).passed


def test_binary_checkpoints_pass_and_a_pickled_record_does_not() -> None:
    weights = np.random.default_rng(1).standard_normal(50_000).astype(np.float32).tobytes()
    result, text = check_bytes(b"\x93NUMPY" + weights, SERVED)
    assert result.passed and result.binary and text is None
    pickled = b"\x80\x04\x95" + RECORDS[1].encode() + b"\x00\xff" + weights[:1000]
    assert not check_bytes(pickled, SERVED)[0].passed


def test_base64_of_a_record_is_found() -> None:
    encoded = base64.b64encode(RECORDS[3].encode()).decode()
    result = check_text(f"blob {encoded}\n", SERVED)
    assert [f.encoding for f in result.findings] == ["base64"]


def test_labelled_set_is_classified_without_error() -> None:
    records, cases = labelled_cases(11, per_kind=10)
    served = [ServedSet.of("news", [fingerprint(records)])]
    wrong = [c.kind for c in cases if check_text(c.text, served).passed == c.stop]
    assert wrong == []


def test_the_strictest_output_policy_applies() -> None:
    assert strictest_output_policy([OutputPolicy.REDACT]) is OutputPolicy.REDACT
    assert strictest_output_policy([OutputPolicy.REDACT, OutputPolicy.WITHHOLD]
                                   ) is OutputPolicy.WITHHOLD
    assert strictest_output_policy([]) is OutputPolicy.WITHHOLD
