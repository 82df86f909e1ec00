"""Progress bars for loops over samples: tqdm on a terminal, quiet under CI=true."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def quiet() -> bool:
    """True when progress bars should be hidden (CI=true or VTON_QUIET=1)."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("VTON_QUIET") == "1"


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it") -> Iterator[T]:
    """Wrap `iterable` in a progress bar (hidden under CI, where a summary line is enough)."""
    return iter(
        tqdm(iterable, total=total, desc=desc, unit=unit, disable=quiet(), file=sys.stderr, dynamic_ncols=True)
    )


def progress_bar(*, total: int, desc: str = "", unit: str = "it") -> tqdm:
    """A manual progress bar for loops that update postfix counters (done, cached, failed)."""
    return tqdm(total=total, desc=desc, unit=unit, disable=quiet(), file=sys.stderr, dynamic_ncols=True)
