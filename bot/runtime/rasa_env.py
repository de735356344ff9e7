"""The Rasa environment: ``rasa==3.6.21`` in its own virtual environment built from Python 3.10.

Rasa Open Source 3.6 runs only on Python 3.8-3.10 and pins old libraries (SQLAlchemy 1.4,
pydantic 1...), so it never shares the app's environment. Python 3.10 is found without guessing:
``python3.10`` on PATH, else pyenv's installed 3.10, else ``uv python find/install 3.10``.
The environment is rebuilt only when ``requirements/rasa.lock.txt`` changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings

REQUIREMENTS = PROJECT_ROOT / "requirements" / "rasa.in"
LOCK = PROJECT_ROOT / "requirements" / "rasa.lock.txt"
STAMP_NAME = ".intake-lock.sha256"


class RasaEnvError(RuntimeError):
    """The Rasa environment cannot be built; the message says what to install."""


def venv_dir() -> Path:
    return Settings.from_env().rasa_venv_dir


def rasa_executable() -> Path:
    return venv_dir() / "bin" / "rasa"


def _is_python_310(executable: str) -> bool:
    try:
        out = subprocess.run(
            [executable, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == "3.10"


def find_python310() -> str:
    """Path of a working Python 3.10, or RasaEnvError saying how to get one."""
    candidates: list[str] = []
    on_path = shutil.which("python3.10")
    if on_path:
        candidates.append(on_path)  # may be a pyenv shim that refuses: it is checked below
    pyenv = shutil.which("pyenv")
    pyenv_root = os.environ.get("PYENV_ROOT")
    if pyenv and not pyenv_root:
        out = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        pyenv_root = out.stdout.strip() or None
    if pyenv_root:
        for version in sorted(Path(pyenv_root, "versions").glob("3.10*"), reverse=True):
            candidates.append(str(version / "bin" / "python3.10"))
    for candidate in candidates:
        if _is_python_310(candidate):
            return candidate
    uv = shutil.which("uv")
    if uv:
        for args in (["python", "find", "3.10"], ["python", "install", "3.10"]):
            subprocess.run([uv, *args], capture_output=True, text=True, check=False)
            found = subprocess.run(
                [uv, "python", "find", "3.10"], capture_output=True, text=True, check=False
            ).stdout.strip()
            if found and _is_python_310(found):
                return found
    raise RasaEnvError(
        "Rasa 3.6 needs Python 3.10, and none was found (looked for python3.10 on PATH, "
        "pyenv versions 3.10.*, and uv). Install one, e.g. `pyenv install 3.10.13`, "
        "`uv python install 3.10` or your system's python3.10 package, then run this again."
    )


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for path in (REQUIREMENTS, LOCK):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_ready() -> bool:
    stamp = venv_dir() / STAMP_NAME
    return rasa_executable().exists() and stamp.exists() and stamp.read_text() == _lock_digest()


def ensure(progress=print) -> Path:  # type: ignore[no-untyped-def]
    """Build or update the Rasa environment if needed; returns the ``rasa`` executable."""
    if is_ready():
        return rasa_executable()
    target = venv_dir()
    python = find_python310()
    progress(f"[rasa env] building {target} with {python} (first time: a few minutes)")
    if target.exists():
        shutil.rmtree(target)
    subprocess.run([python, "-m", "venv", str(target)], check=True)
    pip = [str(target / "bin" / "python"), "-m", "pip"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip==24.0", "wheel"], check=True)
    progress("[rasa env] installing rasa 3.6.21 and its pinned dependencies")
    # pip prints one line per package: that is the progress a person sees.
    result = subprocess.run(
        [*pip, "install", "--progress-bar", "off", "-r", str(REQUIREMENTS), "-c", str(LOCK)],
        stdout=sys.stdout,
        stderr=sys.stderr,
        check=False,
    )
    if result.returncode != 0:
        raise RasaEnvError("installing Rasa failed; see pip's output above")
    (target / STAMP_NAME).write_text(_lock_digest())
    progress("[rasa env] ready")
    return rasa_executable()


def rasa_environ(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for Rasa processes: quiet, reproducible, no telemetry."""
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_DETERMINISTIC_OPS": "1",
            "PYTHONHASHSEED": "0",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore",
        }
    )
    # The app's virtual environment must not leak into Rasa's interpreter; the project root is
    # on the path so config.yml can name the custom intent classifier (nlu/components/).
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    if extra:
        env.update(extra)
    return env
