"""Training: reproducible, and skipped when nothing that shapes the model has changed.

The model file is named after a fingerprint of ``config.yml``, ``nlu/domain/**``,
``nlu/data/**`` and the Rasa lock file, so an unchanged project reuses its model.
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
import time
from pathlib import Path

from bot.runtime import rasa_env
from bot.settings import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "config.yml"
DOMAIN = PROJECT_ROOT / "nlu" / "domain"  # a directory: Rasa merges its files
DATA = PROJECT_ROOT / "nlu" / "data"
COMPONENTS = PROJECT_ROOT / "nlu" / "components"  # custom Rasa components named in config.yml


def training_inputs() -> list[Path]:
    files = [CONFIG, rasa_env.LOCK]
    for directory in (DOMAIN, DATA):
        files += sorted(p for p in directory.rglob("*") if p.is_file())
    return files + sorted(COMPONENTS.glob("*.py"))


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(model_dir: Path) -> Path:
    return model_dir / f"avrr-{fingerprint()}.tar.gz"


def ensure_model(model_dir: Path, *, force: bool = False, progress=print) -> Path:  # type: ignore[no-untyped-def]
    """Train unless a model for the current inputs exists; returns the model file."""
    rasa = rasa_env.ensure(progress)
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_path(model_dir)
    # One trainer at a time (a test run and `intake run` may start together).
    with open(model_dir / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists() and not force:
            progress(f"[train] model is up to date: {target.name}")
            return target
        progress(f"[train] training {target.name} (about a minute)")
        started = time.monotonic()
        result = subprocess.run(
            [
                str(rasa),
                "train",
                "--config",
                str(CONFIG),
                "--domain",
                str(DOMAIN),
                "--data",
                str(DATA),
                "--out",
                str(model_dir),
                "--fixed-model-name",
                target.name.removesuffix(".tar.gz"),
            ],
            cwd=PROJECT_ROOT,
            env=rasa_env.rasa_environ(),
            stdout=sys.stdout,
            stderr=sys.stderr,
            check=False,
        )
        if result.returncode != 0 or not target.exists():
            raise RuntimeError("rasa train failed; see its output above")
        progress(f"[train] done in {time.monotonic() - started:.0f}s: {target.name}")
        return target


def validate_data(progress=print) -> None:  # type: ignore[no-untyped-def]
    """``rasa data validate``: domain, rules and NLU data agree (fails on warnings)."""
    rasa = rasa_env.ensure(progress)
    result = subprocess.run(
        [
            str(rasa),
            "data",
            "validate",
            "--fail-on-warnings",
            "--config",
            str(CONFIG),
            "--domain",
            str(DOMAIN),
            "--data",
            str(DATA),
        ],
        cwd=PROJECT_ROOT,
        env=rasa_env.rasa_environ(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"rasa data validate failed:\n{result.stdout}\n{result.stderr}")
