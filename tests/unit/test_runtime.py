"""The Rasa runtime's set-up: generated Rasa config, Python 3.10 discovery, training fingerprint."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.runtime import rasa_env, training
from bot.runtime.services import TRACKER_STORE_TYPE, tracker_store_config, write_rasa_config
from bot.settings import Settings


def test_tracker_store_for_sqlite_and_postgresql(tmp_path: Path) -> None:
    assert tracker_store_config(f"sqlite:///{tmp_path / 't.db'}") == {
        "type": TRACKER_STORE_TYPE, "dialect": "sqlite", "db": str(tmp_path / "t.db"),
    }  # fmt: skip
    assert tracker_store_config("postgresql://rasa:s3cret@db.internal:5433/trackers") == {
        "type": TRACKER_STORE_TYPE, "dialect": "postgresql", "url": "db.internal", "port": 5433,
        "db": "trackers", "username": "rasa", "password": "s3cret",
    }  # fmt: skip
    with pytest.raises(ValueError, match="unsupported"):
        tracker_store_config("mysql://x@y/z")


def test_endpoints_with_and_without_a_redis_lock_store(tmp_path: Path) -> None:
    settings = replace(Settings.from_env(), data_dir=tmp_path, actions_port=6055,
                       rasa_tracker_db_url=f"sqlite:///{tmp_path / 't.db'}")  # fmt: skip
    endpoints, credentials = write_rasa_config(settings)
    config = yaml.safe_load(endpoints.read_text())
    assert config["action_endpoint"] == {"url": "http://127.0.0.1:6055/webhook"}
    assert "lock_store" not in config  # in-memory: one Rasa server
    assert yaml.safe_load(credentials.read_text()) == {"rest": None}
    settings = replace(settings, rasa_lock_store_url="redis://127.0.0.1:6379/2")
    endpoints, _ = write_rasa_config(settings)
    assert yaml.safe_load(endpoints.read_text())["lock_store"] == {
        "type": "redis", "url": "127.0.0.1", "port": 6379, "db": 2,
    }  # fmt: skip


def test_no_python310_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no python3.10, no pyenv, no uv
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    with pytest.raises(rasa_env.RasaEnvError, match=r"needs Python 3\.10"):
        rasa_env.find_python310()


def test_python310_is_found_here() -> None:
    found = rasa_env.find_python310()
    assert rasa_env._is_python_310(found)


def test_fingerprint_follows_the_training_inputs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("config.yml", "domain/core.yml", "data/nlu.yml", "components/classifier.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    monkeypatch.setattr(training, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(training, "CONFIG", tmp_path / "config.yml")
    monkeypatch.setattr(training, "DOMAIN", tmp_path / "domain")
    monkeypatch.setattr(training, "DATA", tmp_path / "data")
    monkeypatch.setattr(training, "COMPONENTS", tmp_path / "components")
    lock = tmp_path / "rasa.lock.txt"
    lock.write_text("rasa==3.6.21")
    monkeypatch.setattr(rasa_env, "LOCK", lock)
    first = training.fingerprint()
    assert training.fingerprint() == first  # stable
    (tmp_path / "data" / "nlu.yml").write_text("changed")
    assert training.fingerprint() != first
    changed = training.fingerprint()
    (tmp_path / "data" / "more.yml").write_text("x")
    assert training.fingerprint() != changed
    changed = training.fingerprint()
    # A custom component's source is a training input; its bytecode cache is not.
    (tmp_path / "components" / "classifier.py").write_text("changed")
    assert training.fingerprint() != changed
    changed = training.fingerprint()
    (tmp_path / "components" / "__pycache__").mkdir()
    (tmp_path / "components" / "__pycache__" / "classifier.pyc").write_bytes(b"\0")
    assert training.fingerprint() == changed


def test_rasa_gets_a_token_that_begins_with_a_dash(tmp_path: Path) -> None:
    """The wrapper hands Rasa's argparse the token as one "--auth-token=<token>" argument: a
    generated token begins with "-" one time in 64, and "--auth-token -x..." was read as an
    option (CI saw "argument -t/--auth-token: expected one argument")."""
    import subprocess
    import sys

    from bot.runtime import services

    fake = tmp_path / "rasa"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text(
        "import argparse\n"
        "def main():\n"
        "    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('command')\n"
        "    parser.add_argument('-t', '--auth-token')\n"
        "    print(parser.parse_args().auth_token)\n"
        "    return 0\n"
    )
    token = "-Zx9_token-that-begins-with-a-dash"
    done = subprocess.run(
        [sys.executable, "-c", services._RASA_WITH_TOKEN, "run"],
        env={"PYTHONPATH": str(tmp_path), services.RASA_TOKEN_ENV: token},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == token
