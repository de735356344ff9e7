"""The cipher module (bot/crypto.py): round trip, tamper detection, rotation, keyed hash, where
keys come from and how bad keys are reported."""

from __future__ import annotations

import base64
import logging
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from bot import crypto
from bot.settings import Settings, SettingsError


def test_round_trip_text_and_json() -> None:
    keyring = crypto.Keyring.generate()
    token = keyring.encrypt("Je m'appelle Maria, née le 3 mai")
    assert "Maria" not in token
    assert keyring.decrypt(token) == "Je m'appelle Maria, née le 3 mai"
    with crypto.using(keyring):
        column = crypto.EncryptedJSON()
        stored = column.process_bind_param({"full_name": "Ana Lúcia", "n": [1, 2]}, None)
        assert "Ana" not in stored
        assert column.process_result_value(stored, None) == {"full_name": "Ana Lúcia", "n": [1, 2]}
        assert column.process_bind_param(None, None) is None
        assert crypto.EncryptedText().process_result_value(None, None) is None


def test_the_same_text_encrypts_differently_each_time() -> None:
    keyring = crypto.Keyring.generate()
    assert keyring.encrypt("+15551234567") != keyring.encrypt("+15551234567")


def test_tampering_is_detected() -> None:
    keyring = crypto.Keyring.generate()
    token = bytearray(base64.urlsafe_b64decode(keyring.encrypt("secret")))
    token[30] ^= 1  # one bit of the ciphertext
    with pytest.raises(crypto.DecryptionError):
        keyring.decrypt(base64.urlsafe_b64encode(bytes(token)).decode())
    with pytest.raises(crypto.DecryptionError):
        crypto.Keyring.generate().decrypt(keyring.encrypt("secret"))  # another key


def test_rotation_keeps_old_tokens_readable_and_reencrypts_them() -> None:
    old = crypto.Keyring.generate()
    token = old.encrypt("old text")
    new = old.with_new_primary()
    assert new.data_keys[1:] == old.data_keys
    assert new.decrypt(token) == "old text"  # the old key still decrypts
    assert not new.is_current(token)
    rotated = new.reencrypt(token)
    assert new.is_current(rotated)
    assert new.decrypt(rotated) == "old text"
    only_new = crypto.Keyring(new.data_keys[:1], new.lookup_key)
    assert only_new.decrypt(rotated) == "old text"
    with pytest.raises(crypto.DecryptionError):
        only_new.decrypt(token)
    assert new.lookup_hash("+15550001111") == old.lookup_hash("+15550001111")


def test_lookup_hash_is_keyed_and_deterministic() -> None:
    a, b = crypto.Keyring.generate(), crypto.Keyring.generate()
    assert a.lookup_hash("+15550001111") == a.lookup_hash("+15550001111")
    assert a.lookup_hash("+15550001111") != a.lookup_hash("+15550001112")
    assert a.lookup_hash("+15550001111") != b.lookup_hash("+15550001111")  # another key
    assert len(a.lookup_hash("x")) == 64 and "1555" not in a.lookup_hash("+15550001111")


def test_encrypted_columns_refuse_sql_comparisons() -> None:
    from bot.store.models import Contact, Message

    with pytest.raises(TypeError, match="lookup hash"):
        _ = Message.text == "hello"
    with pytest.raises(TypeError):
        _ = Contact.address.in_(["+1555"])
    assert "IS NULL" in str(Message.payload.is_(None))


def test_default_key_file_is_created_once_with_mode_0600(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    default = tmp_path / "keys" / "data.key"
    with caplog.at_level(logging.WARNING, logger="bot.crypto"):
        first = crypto.load_keyring((), "", default, default_key_file=default, create=True)
        second = crypto.load_keyring((), "", default, default_key_file=default, create=True)
    assert first == second  # read back, not made again
    assert stat.S_IMODE(default.stat().st_mode) == 0o600
    assert stat.S_IMODE(default.parent.stat().st_mode) == 0o700
    created = [r for r in caplog.records if "created a new data key file" in r.getMessage()]
    assert len(created) == 1 and str(default) in created[0].getMessage()


def test_a_missing_explicit_key_file_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    with pytest.raises(crypto.KeyConfigError, match="no data keys"):
        crypto.load_keyring(
            (), "", tmp_path / "elsewhere.key", default_key_file=tmp_path / "d.key", create=True
        )
    assert not (tmp_path / "elsewhere.key").exists()


def test_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keyring = crypto.Keyring.generate().with_new_primary()
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INTAKE_DATA_KEYS", " , ".join(keyring.data_keys))
    monkeypatch.setenv("INTAKE_LOOKUP_KEY", keyring.lookup_key)
    settings = Settings.from_env()
    loaded = crypto.keyring_for(settings, create=True)
    assert loaded.data_keys == keyring.data_keys and loaded.source == "environment"
    assert not (tmp_path / "keys").exists()  # nothing written when keys are configured
    assert crypto.keyring_from_environ(keyring.environ()).data_keys == keyring.data_keys


@pytest.mark.parametrize(
    ("keys", "lookup", "expected"),
    [
        ("c2hvcnQ=", None, "INTAKE_DATA_KEYS: data key 1 decodes to 5 bytes, not 32"),
        ("not-a-key", None, "INTAKE_DATA_KEYS: data key 1 is not URL-safe base64"),
        (None, "c2hvcnQ=", "INTAKE_LOOKUP_KEY: the lookup key decodes to 5 bytes"),
        ("%%%", None, "is not URL-safe base64"),
        (None, "", "must be set together"),
    ],
)
def test_malformed_keys_are_settings_errors(
    monkeypatch: pytest.MonkeyPatch, keys: str | None, lookup: str | None, expected: str
) -> None:
    good = crypto.Keyring.generate()
    monkeypatch.setenv("INTAKE_DATA_KEYS", keys if keys is not None else good.data_keys[0])
    if lookup == "":
        monkeypatch.delenv("INTAKE_LOOKUP_KEY", raising=False)
    else:
        monkeypatch.setenv("INTAKE_LOOKUP_KEY", lookup if lookup is not None else good.lookup_key)
    with pytest.raises(SettingsError) as error:
        Settings.from_env()
    assert any(expected in p for p in error.value.problems), error.value.problems


def test_a_malformed_key_file_is_a_settings_error(tmp_path: Path) -> None:
    path = tmp_path / "data.key"
    settings = replace(Settings(), data_dir=tmp_path, data_key_file=path)
    path.write_text("lookup-key abcd\ndata-key nope\nsomething else\n")
    with pytest.raises(SettingsError) as error:
        crypto.keyring_for(settings, create=True)
    assert any("line 3" in p for p in error.value.problems)
    path.write_text("lookup-key abcd\ndata-key nope\n")
    with pytest.raises(SettingsError) as error:
        crypto.keyring_for(settings, create=True)
    text = "\n".join(error.value.problems)
    assert "data key 1 decodes to 3 bytes" in text and "the lookup key decodes to" in text
    assert "nope" not in text and "abcd" not in text  # key material is never echoed


def test_key_file_rewrite_keeps_old_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "data.key"
    keyring = crypto.Keyring.generate(str(path))
    crypto.write_key_file(path, keyring, replace=False)
    rotated = keyring.with_new_primary()
    crypto.write_key_file(path, rotated, replace=True)
    assert crypto.read_key_file(path).data_keys == rotated.data_keys
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["data.key"]
