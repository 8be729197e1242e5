"""Smoke test of the benchmark suite's machinery on tiny sizes (no timing assertions).

Runs every group once with 1 round and a few training steps, checks the shape of the
results, and checks that the training losses of the numpy loop and of PyTorch (if
installed) and microtorch (if importable) agree.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the benchmarks/ package

from benchmarks.config import preset
from benchmarks.harness import IMPLS, MICRO, NUMPY, TORCH, load_libs, write_json
from benchmarks.run import main, run_suite
from benchmarks.training import losses_agree

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


@pytest.fixture(scope="module")
def smoke_run() -> tuple[dict, str]:
    libs = load_libs("microtorch", use_torch=HAS_TORCH)
    lines: list[str] = []
    payload = run_suite(preset("smoke"), threads=(1,), libs=libs, echo=lines.append, progress=False)
    return payload, "\n".join(lines)


def test_payload_structure(smoke_run: tuple[dict, str], tmp_path) -> None:
    payload, _ = smoke_run
    assert set(payload) == {"meta", "summary", "rows"}
    assert payload["meta"]["mode"] == "smoke"
    assert payload["meta"]["environment"]["numpy"]
    assert {row["group"] for row in payload["rows"]} == {"kernels", "overhead", "training", "conv"}
    for row in payload["rows"]:
        assert row["threads"] == 1
        assert set(row["median_seconds"]) <= set(IMPLS)
        assert row["median_seconds"][NUMPY] > 0
        assert all(len(r) == 1 for r in row["rounds_seconds"].values())
        for target in row["targets"]:
            assert target["verdict"] in {"PASS", "MISS", "n/a"}
    # The payload survives a JSON round trip.
    path = tmp_path / "smoke.json"
    write_json(path, payload)
    assert json.loads(path.read_text())["rows"][0]["name"] == payload["rows"][0]["name"]


def test_tables_printed(smoke_run: tuple[dict, str]) -> None:
    _, text = smoke_run
    for title in (
        "Kernels, forward+backward",
        "Per-op overhead",
        "Training, time per step",
        "Training, final full-data loss",
        "Convolution, forward+backward",
    ):
        assert title in text
    assert "Targets:" in text


def test_training_losses_agree(smoke_run: tuple[dict, str]) -> None:
    payload, _ = smoke_run
    training = [row for row in payload["rows"] if row["group"] == "training"]
    assert [row["name"] for row in training] == ["a", "b", "c", "d"]
    checked = {TORCH: HAS_TORCH, MICRO: payload["meta"]["environment"]["microtorch"] is not None}
    for row in training:
        losses = row["info"]["final_loss"]
        assert math.isfinite(losses[NUMPY]), row["info"]["errors"]
        for impl, expected in checked.items():
            if expected:
                assert impl in losses, (
                    f"model {row['name']}: {impl} failed: {row['info']['errors']}"
                )
                assert losses_agree(losses[impl], losses[NUMPY]), (row["name"], impl, losses)
                assert row["info"]["peak_rss_mb"][impl] > 0


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch not installed")
def test_cli_with_torch_standing_in(tmp_path, capsys) -> None:
    json_path, png_path = tmp_path / "out.json", tmp_path / "out.png"
    argv = [
        "--smoke",
        "--lib",
        "torch",
        "--groups",
        "overhead",
        "--threads",
        "1",
        "--json",
        str(json_path),
    ]
    if HAS_MATPLOTLIB:
        argv += ["--plot", str(png_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "microtorch*" in out and "standing in" in out
    rows = json.loads(json_path.read_text())["rows"]
    assert {row["group"] for row in rows} == {"overhead"}
    assert all(MICRO in row["median_seconds"] for row in rows)
    if HAS_MATPLOTLIB:
        assert png_path.stat().st_size > 0
