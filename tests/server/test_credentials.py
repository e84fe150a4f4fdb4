"""Where tokens come from and where login keeps them: a test keyring, no keyring at all,
a keyring that raises, one that hangs; 0600 token files; the lookup order."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from keyring.backends import fail
from keyring.errors import KeyringLocked
from keyring_support import MemoryKeyring

from post001.core import credentials
from post001.core.errors import ValidationError

URL = "http://Server.Example:8000/"


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("D-Bus said no")


class HangingKeyring(MemoryKeyring):
    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return None

    def let_go(self) -> None:
        self.release.set()  # the abandoned worker thread finishes



def test_one_entry_per_server(use_keyring: Any) -> None:
    backend = use_keyring(MemoryKeyring())
    credentials.keyring_set(URL, "tok-1")
    credentials.keyring_set("http://other:8000", "tok-2")
    assert backend.entries == {("post001", "http://server.example:8000"): "tok-1",
                               ("post001", "http://other:8000"): "tok-2"}
    assert credentials.keyring_get("http://server.example:8000") == "tok-1"
    assert credentials.keyring_delete(URL) is True
    assert credentials.keyring_delete(URL) is False
    assert credentials.keyring_get(URL) is None


def test_no_keyring_backend_says_what_to_do_instead(use_keyring: Any) -> None:
    use_keyring(fail.Keyring())
    with pytest.raises(credentials.KeyringUnavailable) as caught:
        credentials.keyring_set(URL, "tok")
    err = caught.value
    assert "not available" in err.message and "POST001_TOKEN" in err.message
    assert "--token-file" in err.message and any("0600" in a or "chmod 600" in a
                                                  for a in err.actions)
    assert credentials.resolve_token(URL) is None  # lookups just find nothing


def test_a_raising_backend_is_reported_not_crashed(use_keyring: Any) -> None:
    use_keyring(LockedKeyring())
    with pytest.raises(credentials.KeyringUnavailable) as caught:
        credentials.keyring_get(URL)
    assert "locked" in caught.value.message
    with pytest.raises(credentials.KeyringUnavailable) as caught:
        credentials.keyring_set(URL, "tok")
    assert "D-Bus said no" in caught.value.message


def test_a_hanging_backend_times_out(use_keyring: Any) -> None:
    use_keyring(HangingKeyring())
    started = time.monotonic()
    with pytest.raises(credentials.KeyringUnavailable) as caught:
        credentials.keyring_get(URL, timeout=0.2)
    assert time.monotonic() - started < 2
    assert "did not answer" in caught.value.message
    assert credentials.resolve_token(URL, timeout=0.2) is None


def test_lookup_order(use_keyring: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """explicit > --token-file > POST001_TOKEN > keyring > the file `login` recorded."""
    from post001.core.servers import ServerEntry

    backend = use_keyring(MemoryKeyring())
    recorded = credentials.write_token_file(tmp_path / "recorded", "from-recorded-file")
    entry = ServerEntry(url="http://server.example:8000", name="work",
                        token_file=recorded)
    found = credentials.find_token(entry)
    assert found is not None and (found.token, found.source) == ("from-recorded-file",
                                                                 "recorded_file")
    credentials.keyring_set(URL, "from-keyring")
    assert credentials.resolve_token(entry) == "from-keyring"
    monkeypatch.setenv("POST001_TOKEN", "from-env")
    assert credentials.resolve_token(entry) == "from-env"
    file = credentials.write_token_file(tmp_path / "token", "from-file")
    assert credentials.resolve_token(entry, token_file=file) == "from-file"
    assert credentials.resolve_token(entry, token="explicit", token_file=file) == "explicit"
    monkeypatch.delenv("POST001_TOKEN")
    backend.entries.clear()
    use_keyring(fail.Keyring())  # no keyring at all: the recorded file still answers
    assert credentials.resolve_token(entry) == "from-recorded-file"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_token_file_never_written_through_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "token"
    link.symlink_to(victim)
    with pytest.raises(ValidationError) as caught:
        credentials.write_token_file(link, "secret")
    assert caught.value.field == "token_file" and "symbolic link" in caught.value.message
    assert victim.read_text() == "precious\n"
    # Replacing an existing private file is fine, and leaves no temporary file behind.
    target = credentials.write_token_file(tmp_path / "real", "one")
    credentials.write_token_file(target, "two")
    assert credentials.read_token_file(target) == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real", "token", "victim"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_token_files_must_be_private(tmp_path: Path) -> None:
    file = credentials.write_token_file(tmp_path / "token", "secret")
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert credentials.read_token_file(file) == "secret"
    file.chmod(0o644)
    with pytest.raises(ValidationError) as caught:
        credentials.read_token_file(file)
    assert "0o644" in caught.value.message and f"chmod 600 {file}" in caught.value.message
    with pytest.raises(ValidationError):
        credentials.read_token_file(tmp_path / "missing")


def test_login_without_a_keyring_refuses_before_asking_for_a_password(use_keyring: Any
                                                                      ) -> None:
    from click.testing import CliRunner

    from post001.cli.main import cli

    use_keyring(fail.Keyring())
    result = CliRunner().invoke(cli, ["login", "http://127.0.0.1:9", "--username", "alice"],
                                input="should-not-be-read\n")
    assert result.exit_code == 1
    assert "keyring is not available" in result.output
    assert "POST001_TOKEN" in result.output and "--token-file" in result.output
    assert "Password" not in result.output


def test_a_hung_backend_does_not_keep_the_process_alive() -> None:
    """The CLI exits promptly even when the keyring never answers."""
    import subprocess
    import sys

    code = (
        "import threading, keyring\n"
        "from keyring.backend import KeyringBackend\n"
        "class Hung(KeyringBackend):\n"
        "    priority = 1\n"
        "    def get_password(self, s, u): threading.Event().wait(60)\n"
        "    def set_password(self, s, u, p): pass\n"
        "    def delete_password(self, s, u): pass\n"
        "keyring.set_keyring(Hung())\n"
        "from post001.core import credentials\n"
        f"print(credentials.resolve_token({URL!r}, timeout=0.2))\n"
    )
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "None"
    assert time.monotonic() - started < 15  # not the 60 s the backend would take
