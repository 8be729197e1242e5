"""Devices: microtorch computes on the CPU; 'cuda' is recognised and refused clearly."""
from __future__ import annotations


class device:
    """`microtorch.device('cpu')`; compares equal to the string 'cpu'."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device = "cpu", index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index
        name, _, idx = str(type).partition(":")
        if name not in ("cpu", "cuda", "mps", "meta"):
            raise RuntimeError(
                "Expected one of cpu, cuda, mps, meta device type at start of device string: "
                f"{type}"
            )
        self.type = name
        self.index = int(idx) if idx else index

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check_device(d) -> None:
    """Accept None or the CPU; raise like PyTorch without CUDA for anything else."""
    if d is None:
        return
    if not isinstance(d, (str, device, int)) or isinstance(d, bool):
        raise TypeError(f"Expected a torch.device, a string or an int, but got "
                        f"{type(d).__name__}")
    d = device("cuda", d) if isinstance(d, int) else device(d)
    if d.type != "cpu":
        raise RuntimeError(
            f"microtorch runs on the CPU only: cannot use device '{d}'. "
            "Torch not compiled with CUDA enabled (use torch.cuda.is_available() to choose 'cpu')."
        )


def set_default_device(device) -> None:
    """Set the device factories use by default: only the CPU (or None, the CPU) exists."""
    check_device(device)


def get_default_device() -> device:
    """The device factories use by default: always the CPU."""
    return CPU
