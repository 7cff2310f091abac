"""Input checks shared by the models' public methods (predict_*, sample, count, thermodynamics, ...) and the
DataModules (batch sizes).  It lives at the data layer so both can import it the one way imports run.

One place for the checks so every model words them the same way: each error is a ValueError that
names the argument and says what it expects; input that is legal but outside what a model was
trained on gets an `OutOfTrainingRangeWarning` instead (the answer is served, but may be wrong).

Empty batches: the predict_* / count / sample methods return an empty result of the right shape
(a batch of 0 is a legal batch); only a count or batch size below the allowed minimum raises.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch


class OutOfTrainingRangeWarning(UserWarning):
    """The input is legal but outside the range the model was trained on: the answer is an extrapolation."""


def _is_int(value) -> bool:
    # bool is an int subclass, but batch_size=True is a mistake, not 1
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def positive_int(value, name: str) -> int:
    """An integer >= 1 (batch sizes, lattice sides)."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer (>= 1); got {value!r}")
    return int(value)


def optional_positive_int(value, name: str) -> int | None:
    return None if value is None else positive_int(value, name)


def count(value, name: str = "n") -> int:
    """A number of samples: an integer >= 0 (0 gives an empty result)."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer (number of samples); got {value!r}")
    return int(value)


def finite_array(value, name: str) -> np.ndarray:
    """A real numeric array (or scalar) without NaN or inf, as float64."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as ex:
        raise ValueError(f"{name} must be real numbers; got {value!r}") from ex
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf); got {value!r}")
    return a


def positive_finite_array(value, name: str) -> np.ndarray:
    a = finite_array(value, name)
    if np.any(a <= 0):
        raise ValueError(f"{name} must be > 0 and finite; got {value!r}")
    return a


def spatial_size(x: torch.Tensor, expected: int, name: str, what: str, dims: int = 3) -> None:
    """forward() of a fixed-size network: x must be (B, n, n) (dims=3) with n = expected.  A smaller or
    larger lattice would otherwise run through the convolutions and give silently wrong output."""
    if x.dim() != dims or tuple(x.shape[-2:]) != (expected, expected):
        lead = "(B, " + ", ".join(["C"] * (dims - 3))
        lead = lead + ", " if dims > 3 else lead
        raise ValueError(f"{name} must have shape {lead}{expected}, {expected}) ({what}); got {tuple(x.shape)}")


def last_dim(x: torch.Tensor, expected: int, name: str, what: str) -> None:
    if x.dim() != 2 or x.shape[-1] != expected:
        raise ValueError(f"{name} must have shape (B, {expected}) ({what}); got {tuple(x.shape)}")


def box(value, H: int, W: int, name: str = "box") -> tuple[int, int, int, int]:
    """(top, left, bottom, right) pixel box with 0 <= top < bottom <= H and 0 <= left < right <= W."""
    try:
        top, left, bottom, right = (int(v) for v in value)
    except (TypeError, ValueError) as ex:
        raise ValueError(f"{name} must be 4 integers (top, left, bottom, right); got {value!r}") from ex
    if not (0 <= top < bottom <= H and 0 <= left < right <= W):
        raise ValueError(f"{name} must be (top, left, bottom, right) with 0 <= top < bottom <= {H} and "
                         f"0 <= left < right <= {W} (pixels of the {H}x{W} image); got {tuple(value)}")
    return top, left, bottom, right


def warn_outside(name: str, values, lo: float, hi: float, trained_on: str, stacklevel: int = 3) -> bool:
    """Warn (OutOfTrainingRangeWarning) if any of `values` lies outside [lo, hi]; True if it warned."""
    a = np.asarray(values, dtype=np.float64)
    if a.size and (a.min() < lo or a.max() > hi):
        warnings.warn(f"{name} spans [{a.min():.6g}, {a.max():.6g}], outside [{lo:.6g}, {hi:.6g}] that the model "
                      f"was trained on ({trained_on}); the answer is an extrapolation",
                      OutOfTrainingRangeWarning, stacklevel=stacklevel)
        return True
    return False
