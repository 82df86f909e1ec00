"""Installed distributions' versions for cache keys, read from the `<name>-<version>.dist-info` folder names on
sys.path: a listing per path entry instead of importlib.metadata's scan and parse of every distribution (~2 ms a
lookup, which a cached stage re-run pays at start-up), with importlib.metadata as the fallback."""

from __future__ import annotations

import functools
import os
import re
import sys

ABSENT = "absent"


def _normal(name: str) -> str:
    """A distribution name as PEP 503 compares them (case, and runs of -_. alike)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _dist_infos(entry: str) -> dict[str, str]:
    """normalised name -> version of each wheel-installed distribution in the sys.path folder `entry`."""
    try:
        names = os.listdir(entry or ".")
    except OSError:
        return {}
    found: dict[str, str] = {}
    for item in names:
        if item.endswith(".dist-info"):
            # A wheel writes its name with every '-' escaped to '_', so the first '-' ends the name.
            name, _, version = item[: -len(".dist-info")].partition("-")
            if version:
                found.setdefault(_normal(name), version)
    return found


@functools.cache
def installed_version(name: str) -> str:
    """The version of distribution `name` that importlib.metadata.version finds (the first on sys.path), or
    ABSENT when it is not installed."""
    wanted = _normal(name)
    for entry in sys.path:
        version = _dist_infos(entry).get(wanted)
        if version is not None:
            return version
    from importlib.metadata import PackageNotFoundError, version  # e.g. an .egg-info or a zip on sys.path

    try:
        return version(name)
    except PackageNotFoundError:
        return ABSENT


def installed_distributions() -> tuple[str, ...]:
    """`name==version` of every wheel-installed distribution on sys.path (the first of each name), sorted: what a
    cache key holds when any installed library may shape an output."""
    seen: dict[str, str] = {}
    for entry in sys.path:
        for name, version in _dist_infos(entry).items():
            seen.setdefault(name, version)
    return tuple(f"{name}=={version}" for name, version in sorted(seen.items()))
