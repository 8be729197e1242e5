"""Run presets: full (about 15 minutes), quick (about 2 minutes) and smoke (seconds, for tests)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Config:
    """Everything that sizes a run. Sizes are element counts unless stated."""

    mode: str
    # Kernels group
    kernel_sizes: tuple[int, ...] = (1_000, 100_000, 1_000_000)
    matmul_sizes: tuple[int, ...] = (16, 64, 256, 1024)
    # (batch, in, out) of the Linear layers in training models c and d.
    linear_shapes: tuple[tuple[int, int, int], ...] = (
        (64, 64, 256),
        (256, 784, 1024),
        (256, 1024, 1024),
    )
    class_counts: tuple[int, ...] = (10, 1000)
    dtypes: tuple[str, ...] = ("float32", "float64")
    kernel_rounds: int = 7
    min_round_time: float = 0.05  # seconds per implementation per round
    # Overhead group
    overhead_ops: tuple[str, ...] = (
        "add", "mul", "matmul", "relu", "sigmoid", "tanh", "linear", "mse_loss",
        "cross_entropy", "sum",
    )
    overhead_rounds: int = 7
    overhead_min_round_time: float = 0.05
    # Training group: fresh subprocess per run; "epochs"/"steps" override the models' defaults.
    models: tuple[str, ...] = ("a", "b", "c", "d")
    training_rounds: int = 5
    training_budget: dict[str, int] = field(default_factory=dict)
    one_process_per_impl: bool = False  # smoke: all models in one worker per implementation,
    # the workers running concurrently
    scrub_openblas_env: bool = True  # drop OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE in workers
    breakdown_steps: int = 2000  # steps of model a profiled for the per-step breakdown
    startup_runs: int = 7  # fresh interpreters timing `import microtorch`
    filter: str = ""  # only cases whose label contains this text


FULL = Config(mode="full")

QUICK = Config(
    mode="quick",
    kernel_sizes=(1_000, 100_000),
    matmul_sizes=(16, 64, 256),
    kernel_rounds=5,
    min_round_time=0.01,
    overhead_rounds=5,
    overhead_min_round_time=0.01,
    training_rounds=2,
    training_budget={"a": 200, "b": 200, "c": 3, "d": 10},
    breakdown_steps=500,
    startup_runs=5,
)

SMOKE = Config(
    mode="smoke",
    kernel_sizes=(1_000,),
    matmul_sizes=(16,),
    linear_shapes=((8, 16, 32),),
    class_counts=(10,),
    kernel_rounds=1,
    min_round_time=0.0005,
    overhead_rounds=1,
    overhead_min_round_time=0.0005,
    training_rounds=1,
    training_budget={"a": 5, "b": 5, "c": 1, "d": 2},
    one_process_per_impl=True,
    scrub_openblas_env=False,
    breakdown_steps=20,
    startup_runs=1,
)

PRESETS = {"full": FULL, "quick": QUICK, "smoke": SMOKE}


def preset(mode: str, **overrides: object) -> Config:
    """A preset with some fields replaced (None values are ignored)."""
    return replace(PRESETS[mode], **{k: v for k, v in overrides.items() if v is not None})
