"""Accounts file, roles, login throttle and expiring sessions (rag/users.py, rag/auth.py), and `rag user`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.auth import AccessDenied, AccessPolicy, AccountsRequired, Authenticator, ExpiringTokens, LoginThrottle
from rag.users import LOCAL_USER, AccountError, AccountsFileError, AccountStore, Role

BIN = Path(sys.executable).parent


def test_add_verify_roles_and_file_mode(tmp_path: Path) -> None:
    store = AccountStore(tmp_path)
    store.add("alice", Role.editor, "correct horse")
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    assert "correct horse" not in store.path.read_text()  # only the bcrypt hash is stored
    assert store.verify("alice", "correct horse").role is Role.editor
    assert store.verify("alice", "wrong horse!") is None
    assert store.verify("nobody", "correct horse") is None
    assert store.verify("alice", "x" * 100) is None  # over bcrypt's 72 bytes: refused, not truncated
    with pytest.raises(AccountError, match="exists"):
        store.add("alice", Role.reader, "another one")
    with pytest.raises(AccountError, match="too short"):
        store.add("bob", Role.reader, "short")
    with pytest.raises(AccountError, match="too long"):
        store.add("bob", Role.reader, "é" * 40)
    for bad in ["../etc", "<script>", "a/b", "", ".hidden", "x" * 65, "名前"]:
        with pytest.raises(AccountError, match="invalid user name"):
            store.add(bad, Role.reader, "long enough")
    store.set_role("alice", Role.admin)
    assert AccountStore(tmp_path).get("alice").role is Role.admin
    store.remove("alice")
    assert store.accounts() == {}


def test_role_order() -> None:
    assert Role.admin.allows(Role.editor) and Role.editor.allows(Role.reader)
    assert not Role.reader.allows(Role.editor) and not Role.editor.allows(Role.admin)


def test_unsafe_or_damaged_file_gives_one_clear_line(tmp_path: Path) -> None:
    store = AccountStore(tmp_path)
    store.add("alice", Role.reader, "correct horse")
    os.chmod(store.path, 0o644)
    with pytest.raises(AccountsFileError, match=r"readable or writable by other users .*chmod 600"):
        AccountStore(tmp_path).accounts()
    os.chmod(store.path, 0o600)
    good = store.path.read_text()
    for damaged in ["{not json", json.dumps({"version": 1}), json.dumps({"version": 1, "users": {
            "alice": {"role": "superuser", "password_hash": "$2b$x", "created_at": 0, "password_changed_at": 0}}}),
            json.dumps({"version": 1, "users": {"alice": {"role": "reader", "password_hash": "plain",
                                                          "created_at": 0, "password_changed_at": 0}}})]:
        store.path.write_text(damaged)
        with pytest.raises(AccountsFileError, match="damaged accounts file") as err:
            AccountStore(tmp_path).accounts()
        assert "\n" not in str(err.value)
    store.path.write_text(good)
    assert AccountStore(tmp_path).get("alice") is not None


def test_policy_local_mode_only_on_loopback(make_settings) -> None:  # noqa: ANN001
    settings = make_settings(host="127.0.0.1")
    policy = AccessPolicy(settings)
    policy.check_startup()
    assert policy.principal(None).name == LOCAL_USER and policy.principal(None).role is Role.admin
    for host in ["0.0.0.0", "192.168.1.20", "newsroom.example", "::"]:
        with pytest.raises(AccountsRequired, match="user add NAME --role admin"):
            AccessPolicy(settings.model_copy(update={"host": host})).check_startup()
    for host in ["localhost", "::1", "127.0.0.2"]:
        AccessPolicy(settings.model_copy(update={"host": host})).check_startup()


def test_policy_with_accounts_checks_each_request(make_settings) -> None:  # noqa: ANN001
    settings = make_settings(host="0.0.0.0")
    AccountStore(settings.index_dir).add("rita", Role.reader, "reader pass")
    policy = AccessPolicy(settings)
    policy.check_startup()
    assert policy.require("rita", Role.reader).name == "rita"
    with pytest.raises(AccessDenied, match="needs the editor role"):
        policy.require("rita", Role.editor)
    with pytest.raises(AccessDenied, match="not logged in"):
        policy.require(None, Role.reader)
    # A role change or a removal takes effect on the next request, without a restart.
    policy.store.set_role("rita", Role.editor)
    assert policy.require("rita", Role.editor).role is Role.editor
    AccountStore(settings.index_dir).remove("rita")
    with pytest.raises(AccessDenied):
        policy.require("rita", Role.reader)


def test_throttle_locks_out_by_user_and_by_address(tmp_path: Path) -> None:
    now = [1000.0]
    throttle = LoginThrottle(free_failures=3, base_delay_s=2.0, max_delay_s=60.0, clock=lambda: now[0])
    store = AccountStore(tmp_path)
    store.add("alice", Role.reader, "correct horse")
    auth = Authenticator(store, throttle)
    for _ in range(3):
        assert not auth.check("alice", "guess", "10.0.0.1")
    assert throttle.wait_s("alice", "10.0.0.9") == 0
    assert not auth.check("alice", "guess", "10.0.0.1")  # 4th failure: locked for 2 s
    # Locked out: even the right password is refused unchecked, from any address.
    assert not auth.check("alice", "correct horse", "10.0.0.2")
    assert throttle.wait_s("alice", "10.0.0.2") == pytest.approx(2.0)
    now[0] += 2.1
    assert not auth.check("alice", "guess", "10.0.0.1")  # 5th failure: 4 s
    assert throttle.wait_s("alice", None) == pytest.approx(4.0)
    now[0] += 4.1
    assert auth.check("alice", "correct horse", "10.0.0.3")
    assert throttle.wait_s("alice", None) == 0
    # One address guessing many names is slowed down too.
    for n in range(4):
        auth.check(f"user{n}", "guess", "10.6.6.6")
    assert throttle.wait_s("someone-else", "10.6.6.6") > 0
    assert throttle.wait_s("someone-else", "10.0.0.7") == 0


def test_sessions_expire_and_end_with_password_change(tmp_path: Path) -> None:
    store = AccountStore(tmp_path)
    store.add("alice", Role.reader, "correct horse")
    now = [store.get("alice").password_changed_at + 1]
    tokens = ExpiringTokens(60, store.session_valid, clock=lambda: now[0])
    tokens["t1"] = "alice"
    assert tokens.get("t1") == "alice"
    now[0] += 61
    assert tokens.get("t1") is None and "t1" not in tokens
    now[0] = store.get("alice").password_changed_at
    tokens["t2"] = "alice"
    assert tokens.get("t2") == "alice"
    store.set_password("alice", "battery staple")  # stamped with the real clock: after t2 was issued
    assert tokens.get("t2") is None
    now[0] = store.get("alice").password_changed_at + 1
    tokens["t3"] = "alice"
    assert tokens.get("t3") == "alice"
    assert tokens.get(None) is None


def _rag(*args: str, stdin: str = "", index: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "rag"), "--index", str(index), *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_cli_user_commands_read_passwords_from_stdin_never_argv(tmp_path: Path) -> None:
    index = tmp_path / "index"
    out = _rag("user", "add", "alice", "--role", "admin", stdin="first password\n", index=index)
    assert out.returncode == 0, out.stderr
    assert "first password" not in out.stdout + out.stderr
    assert _rag("user", "add", "bob", stdin="second pass\n", index=index).returncode == 0
    listed = _rag("user", "list", index=index).stdout
    assert "alice\tadmin" in listed and "bob\treader" in listed
    assert _rag("user", "passwd", "bob", stdin="third password\n", index=index).returncode == 0
    assert AccountStore(index).verify("bob", "third password") is not None
    assert _rag("user", "role", "bob", "editor", index=index).returncode == 0
    out = _rag("user", "remove", "carol", index=index)
    assert out.returncode == 2 and out.stderr.strip() == "error: no user 'carol'"
    assert _rag("user", "remove", "bob", index=index).returncode == 0
    os.chmod(index / "users.json", 0o640)
    out = _rag("user", "list", index=index)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "chmod 600" in out.stderr


def test_serve_refuses_a_network_address_without_accounts(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    out = subprocess.run([str(BIN / "rag"), "--index", str(tmp_path / "index"), "--corpus", str(tmp_path / "corpus"),
                          "serve", "--host", "0.0.0.0", "--backend", "extractive"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"error: refusing to listen on 0.0.0.0 without accounts: create one with `rag --index "
        f"{tmp_path / 'index'} user add NAME --role admin` (or bind to 127.0.0.1)"]
    assert "indexing" not in out.stdout  # refused before any work


def test_serve_refuses_an_unsafe_or_damaged_accounts_file_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    store = AccountStore(tmp_path / "index")
    store.add("alice", Role.admin, "correct horse")
    args = [str(BIN / "rag"), "--index", str(tmp_path / "index"), "--corpus", str(tmp_path / "corpus"), "serve",
            "--backend", "extractive"]
    os.chmod(store.path, 0o604)
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        f"error: {store.path}: readable or writable by other users (mode 604); run `chmod 600 {store.path}`"]
    os.chmod(store.path, 0o600)
    store.path.write_text('{"version": 1, "users": ')
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "damaged accounts file" in out.stderr and "indexing" not in out.stdout
