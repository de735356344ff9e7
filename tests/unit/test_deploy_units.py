"""deploy/: the systemd units start `intake` commands that exist, with settings that exist, and
systemd itself accepts them (``systemd-analyze verify``, with the install path pointed at this
checkout)."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.cli import build_parser
from bot.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
INSTALL = "/opt/intake"


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def commands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return set(sub.choices)  # type: ignore[arg-type]


def settings_names() -> set[str]:
    """Every variable ``Settings.from_env`` reads."""
    source = (PROJECT_ROOT / "bot" / "settings.py").read_text(encoding="utf-8")
    return set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', source)) | {"RASA_AUTH_TOKEN"}


def test_every_unit_runs_an_intake_command_that_exists() -> None:
    assert {p.name for p in UNITS} >= {
        "intake-app@.service",
        "intake-rasa@.service",
        "intake-actions.service",
        "intake-migrate.service",
    }
    used = {}
    for path in UNITS:
        service = unit(path)["Service"]
        argv = shlex.split(service["ExecStart"])
        assert argv[0] == f"{INSTALL}/.venv/bin/intake", path.name
        assert argv[1] in commands(), (path.name, argv)
        used[path.name] = argv[1]
        assert service["EnvironmentFile"] == "/etc/intake/intake.env"
        assert service["WorkingDirectory"] == INSTALL
    assert used == {
        "intake-app@.service": "serve",
        "intake-rasa@.service": "rasa",
        "intake-actions.service": "actions",
        "intake-migrate.service": "migrate",
    }


def test_units_and_the_env_template_set_only_real_settings_and_no_secret() -> None:
    known = settings_names()
    for path in UNITS:
        for line in unit(path)["Service"].get("Environment", "").split():
            assert line.split("=", 1)[0] in known, (path.name, line)
    template = (DEPLOY / "intake.env.example").read_text(encoding="utf-8")
    values = dict(
        line.split("=", 1)
        for line in template.splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert set(values) <= known, set(values) - known
    for secret in ("RASA_AUTH_TOKEN", "TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN"):
        assert values[secret] == "", secret  # the template carries no secret
    for name, value in values.items():  # URLs without a password
        assert urlsplit(value).password is None, name


def test_the_app_units_wait_for_the_migrations() -> None:
    for name in ("intake-app@.service", "intake-actions.service"):
        section = unit(DEPLOY / "systemd" / name)["Unit"]
        assert "intake-migrate.service" in section["Requires"].split()
        assert "intake-migrate.service" in section["After"].split()


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for path in [*UNITS, *(DEPLOY / "systemd").glob("*.target")]:
        text = path.read_text(encoding="utf-8").replace(INSTALL, str(PROJECT_ROOT))
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    instances = {"intake-app@.service": "intake-app@8001.service",
                 "intake-rasa@.service": "intake-rasa@5005.service"}  # fmt: skip
    for template, instance in instances.items():
        (tmp_path / instance).symlink_to(tmp_path / template)
    names = [instances.get(p.name, p.name) for p in tmp_path.iterdir() if "@." not in p.name]
    result = subprocess.run(
        [analyze, "verify", "--man=no", *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
