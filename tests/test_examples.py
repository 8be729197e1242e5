"""Smoke test of the course examples in examples/.

Each example runs with ``--quick`` in a subprocess, into a temporary ``--out`` folder, and
must exit with 0, write its PNG figures (non-empty), and print a ``metrics:`` line whose
numbers are sane (regression beats predicting the mean, accuracies beat chance, ...).

The examples run on microtorch; with ``MICROTORCH_EXAMPLES_BACKEND=torch`` they (and this
test) run on PyTorch instead. The test is skipped when scikit-learn or matplotlib is not
installed, or when the backend cannot be imported.
"""
import importlib
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
BACKEND = os.environ.get("MICROTORCH_EXAMPLES_BACKEND", "microtorch").strip() or "microtorch"
TIMEOUT = 300            # seconds per quick run; generous for slow CI machines


def check_regression(m):
    models = [key for key in m if key.endswith("_valid_mse") and key != "baseline_valid_mse"]
    assert len(models) == 5, models
    for key in models:
        assert m[key] < m["baseline_valid_mse"], f"{key} does not beat predicting the mean"


def check_binary(m):
    assert m["baseline_valid_accuracy"] < 0.6
    for key in ("logistic", "sigmoid_2_3_1", "relu_2_10_10_1"):
        assert m[f"{key}_valid_accuracy"] > 0.75, key


def check_multiclass(m):
    assert m["baseline_valid_accuracy"] < 0.45
    assert m["softmax_regression_valid_accuracy"] > 0.6
    assert m["network_valid_accuracy"] > 0.6


def check_training_process(m):
    for key in ("no_regularization", "dropout", "weight_decay", "batchnorm", "early_stopping"):
        assert m[f"{key}_test_accuracy"] > 0.5, key        # chance is 0.1


def check_cnn_digits(m):
    for key in ("mlp", "mlp_reg", "cnn", "cnn_reg"):
        assert m[f"{key}_test_accuracy"] > 0.5, key        # chance is 0.1
    assert m["cnn_parameters"] < m["mlp_parameters"] / 4


def check_data_preparation(m):
    assert m["valid_mse"] < 0.5 * m["baseline_valid_mse"]
    assert m["valid_r2"] > 0.5


def check_learning_rate(m):
    assert m["good_final_loss"] < 1.0                     # 1.0 = predicting the mean
    assert m["good_final_loss"] < m["too_small_final_loss"]
    # The large rate diverges (inf/nan) or at least ends worse than the good one;
    # written so that a nan loss passes.
    assert not m["too_large_final_loss"] < m["good_final_loss"]


# script -> (figures it writes, check of its printed metrics)
CASES = {
    "regression.py": (["regression_fits.png"], check_regression),
    "binary_classifier.py": (["binary_decision_surfaces.png"], check_binary),
    "multiclass_classifier.py": (["multiclass_decision_regions.png"], check_multiclass),
    "training_process.py": (["training_curves.png"], check_training_process),
    "cnn_digits.py": (["cnn_training_curves.png", "cnn_filters.png", "cnn_feature_maps.png"],
                      check_cnn_digits),
    "data_preparation.py": (["data_preparation.png"], check_data_preparation),
    "learning_rate.py": (["learning_rate.png"], check_learning_rate),
}


@pytest.fixture(scope="module")
def backend_path():
    """Skip unless the example dependencies and the backend import; return its location."""
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    try:
        module = importlib.import_module(BACKEND)
    except Exception as exc:  # noqa: BLE001 -- ImportError, a broken build, ...
        pytest.skip(f"cannot import {BACKEND}: {exc!r}")
    # Let the subprocess import the very package this process imported.
    return str(Path(module.__file__).resolve().parent.parent)


def parse_metrics(stdout):
    match = re.search(r"^metrics: (.*)$", stdout, re.MULTILINE)
    assert match, "no 'metrics:' line in the output"
    return {key: float(value) for key, value in
            (item.split("=") for item in match.group(1).split())}


def test_every_example_is_covered():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
    assert scripts == sorted(CASES)


def test_readme_lists_every_example_and_figure():
    readme = (EXAMPLES / "README.md").read_text()
    for script, (figures, _) in CASES.items():
        assert script in readme
        for figure in figures:
            assert figure in readme


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs_quick(script, backend_path, tmp_path):
    figures, check = CASES[script]
    out = tmp_path / "out"
    env = dict(os.environ, MICROTORCH_EXAMPLES_BACKEND=BACKEND, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (backend_path, env.get("PYTHONPATH", "")) if p)
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--quick", "--out", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    for figure in figures:
        path = out / figure
        assert path.is_file(), f"{script} did not write {figure}"
        assert path.stat().st_size > 1000, f"{figure} is (nearly) empty"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{figure} is not a PNG"
    metrics = parse_metrics(result.stdout)
    for key, value in metrics.items():
        assert not math.isnan(value) or key.startswith("too_large"), f"{key} is nan"
    check(metrics)
