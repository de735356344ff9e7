"""Operator-edited files that are live at once: re-read when the file changes, and a broken
edit keeps the last good version (reported, never fatal once one version was good).

One mechanism for the content pack, the crisis content and the screening rules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


class LiveFile(Generic[T]):
    """``get(path)`` returns ``load(path)``, re-run only when the file's mtime changed."""

    def __init__(self, load: Callable[[Path], T], errors: tuple[type[Exception], ...]) -> None:
        self._load = load
        self._errors = errors
        self._cache: dict[Path, tuple[int, T]] = {}

    def get(self, path: Path) -> T:
        mtime = path.stat().st_mtime_ns
        cached = self._cache.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            value = self._load(path)
        except self._errors as exc:
            if cached is None:
                raise
            # The file name and the error type only: the message may quote the edited text.
            log.error("%s not reloaded, keeping the last good version (%s)", path.name,
                      type(exc).__name__)
            self._cache[path] = (mtime, cached[1])
            return cached[1]
        self._cache[path] = (mtime, value)
        return value
