"""Helpers shared by the course examples: backend import, arguments, figures, timing.

Every example starts with

    torch, nn, F, optim, data = load_backend()

which is the same as writing

    import microtorch as torch
    from microtorch import nn, optim
    import microtorch.nn.functional as F
    import microtorch.utils.data as data   # data.TensorDataset, data.DataLoader

Set the environment variable ``MICROTORCH_EXAMPLES_BACKEND=torch`` to run the very
same script on PyTorch instead, and compare the two libraries side by side:

    python examples/regression.py --out out/micro
    MICROTORCH_EXAMPLES_BACKEND=torch python examples/regression.py --out out/torch
"""
import argparse
import importlib
import os
import time
from collections import namedtuple
from pathlib import Path

BACKEND_ENV = "MICROTORCH_EXAMPLES_BACKEND"
BACKENDS = ("microtorch", "torch")

Backend = namedtuple("Backend", "torch nn F optim data")


def backend_name() -> str:
    """The library the examples run on: ``microtorch`` unless the env var says ``torch``."""
    name = os.environ.get(BACKEND_ENV, "microtorch").strip() or "microtorch"
    if name not in BACKENDS:
        raise ValueError(f"{BACKEND_ENV} must be one of {BACKENDS}, got {name!r}")
    return name


def load_backend() -> Backend:
    """Import the library and its submodules: (torch, nn, F, optim, utils.data)."""
    name = backend_name()
    return Backend(
        torch=importlib.import_module(name),
        nn=importlib.import_module(f"{name}.nn"),
        F=importlib.import_module(f"{name}.nn.functional"),
        optim=importlib.import_module(f"{name}.optim"),
        data=importlib.import_module(f"{name}.utils.data"),
    )


def parse_args(description: str) -> argparse.Namespace:
    """The two options every example understands: ``--out DIR`` and ``--quick``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=Path("out"),
                        help="folder for the PNG figures (default: ./out)")
    parser.add_argument("--quick", action="store_true",
                        help="train for a few epochs only (a smoke test, a few seconds)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"backend: {backend_name()}{'   (quick run)' if args.quick else ''}")
    return args


def pyplot():
    """matplotlib's pyplot on the Agg backend: draws into files, needs no display."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, out: Path, name: str) -> Path:
    """Save ``fig`` as ``out/name``, close it, and say where it went."""
    path = Path(out) / name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    fig.clf()
    import matplotlib.pyplot as plt
    plt.close(fig)
    print(f"wrote {path}")
    return path


class Stopwatch:
    """Wall-clock timer: ``with Stopwatch() as sw: ...`` then read ``sw.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False


def train_classifiers(models: dict, schedule: dict, quick: bool, fit, score) -> dict:
    """Train each model for its (epochs, lr) from `schedule` (100 epochs with --quick) and print
    a table; `fit(model, epochs, lr)` returns the final loss, `score(model)` gives
    (train accuracy, validation accuracy). Returns name -> (train acc, valid acc)."""
    results = {}
    print(f"{'model':>20} {'epochs':>7} {'log loss':>9} {'train acc':>10} {'valid acc':>10} "
          f"{'time':>7}")
    for name, model in models.items():
        epochs, lr = schedule[name]
        if quick:
            epochs = 100
        with Stopwatch() as sw:
            loss = fit(model, epochs, lr)
        results[name] = score(model)
        print(f"{name:>20} {epochs:7d} {loss:9.4f} {results[name][0]:10.3f} "
              f"{results[name][1]:10.3f} {sw.seconds:6.2f}s")
    return results


def print_metrics(**metrics: float) -> None:
    """Print the final metrics on one ``metrics:`` line (tests/test_examples.py reads it)."""
    print("metrics: " + " ".join(f"{name}={value:.4f}" for name, value in metrics.items()))
