"""bot/live_file.py: operator files re-read on change, the last good version kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.live_file import LiveFile


class Broken(Exception):
    pass


def _load(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if text.startswith("!"):
        raise Broken(text)
    return text


def _write(path: Path, text: str, mtime: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(mtime, mtime))  # a new mtime even on coarse clocks


def test_reads_again_only_when_the_file_changed(tmp_path: Path) -> None:
    calls: list[Path] = []

    def counting(path: Path) -> str:
        calls.append(path)
        return _load(path)

    live = LiveFile(counting, errors=(Broken,))
    f = tmp_path / "a.yml"
    _write(f, "one", 10**18)
    assert live.get(f) == "one"
    assert live.get(f) == "one"
    assert len(calls) == 1
    _write(f, "two", 2 * 10**18)
    assert live.get(f) == "two"
    assert len(calls) == 2


def test_a_broken_edit_keeps_the_last_good_version_and_is_logged_without_its_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live = LiveFile(_load, errors=(Broken,))
    f = tmp_path / "a.yml"
    _write(f, "good", 10**18)
    assert live.get(f) == "good"
    _write(f, "!broken secret words", 2 * 10**18)
    assert live.get(f) == "good"
    assert "a.yml" in caplog.text and "secret" not in caplog.text
    _write(f, "fixed", 3 * 10**18)
    assert live.get(f) == "fixed"


def test_a_broken_first_version_is_an_error(tmp_path: Path) -> None:
    live = LiveFile(_load, errors=(Broken,))
    f = tmp_path / "a.yml"
    _write(f, "!broken", 10**18)
    with pytest.raises(Broken):
        live.get(f)
