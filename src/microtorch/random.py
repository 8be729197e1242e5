"""Random number generation: `manual_seed`, `Generator`, and the default generator.

microtorch draws from numpy's PCG64 streams: a seed makes runs reproducible, but the
numbers differ from PyTorch's (its Mersenne-Twister stream is not reproduced). Tests and
benchmarks that compare with PyTorch copy weights instead of relying on seeds.
"""
from __future__ import annotations

import numpy as np

from . import _device
from ._device import check_device

_DEFAULT_SEED = 67280421310721


class Generator:
    """A random stream; pass it as `generator=` to factories, `random_split`, `DataLoader`."""

    def __init__(self, device: str = "cpu") -> None:
        check_device(device)
        self.device = _device.device(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Reset the stream from `seed`; returns the generator."""
        seed = int(seed)
        self._seed = seed
        self.rng = np.random.Generator(np.random.PCG64(seed & 0xFFFFFFFFFFFFFFFF))
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy; returns the new seed."""
        seed = int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        """The stream's state (a dict; restore it with `set_state`)."""
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (what every factory uses without `generator=`)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def rng(generator: Generator | None = None) -> np.random.Generator:
    """The numpy stream to draw from (`generator`'s, else the default generator's)."""
    if generator is None:
        return default_generator.rng
    if not isinstance(generator, Generator):
        raise TypeError(f"argument 'generator' must be torch.Generator, not "
                        f"{type(generator).__name__}")
    return generator.rng
