"""`rag user add|list|remove|passwd|role`: the web app's accounts (rag/users.py).

Passwords are read from a prompt (typed twice) or, when stdin is not a terminal, from the first line of stdin
(`printf '%s\\n' "$PW" | rag user add …`); never from the command line, where `ps` and shell history see them.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from rag.cli.common import settings_from
from rag.errors import AccountError
from rag.users import AccountStore, Role


def register(sub: Any) -> None:
    p = sub.add_parser("user", help="manage the web app's accounts (stored under the index folder)")
    actions = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    a = actions.add_parser("add", help="create an account (password from a prompt or stdin)")
    a.add_argument("name")
    a.add_argument("--role", choices=[r.value for r in Role], default=Role.reader.value,
                   help="reader: asks; editor: also uploads and deletes; admin: also manages accounts")
    a.set_defaults(func=run_add)
    a = actions.add_parser("list", help="list accounts and their roles")
    a.set_defaults(func=run_list)
    a = actions.add_parser("remove", help="delete an account (its open sessions end at once)")
    a.add_argument("name")
    a.set_defaults(func=run_remove)
    a = actions.add_parser("passwd", help="set a new password (its open sessions end at once)")
    a.add_argument("name")
    a.set_defaults(func=run_passwd)
    a = actions.add_parser("role", help="change an account's role")
    a.add_argument("name")
    a.add_argument("role", choices=[r.value for r in Role])
    a.set_defaults(func=run_role)


def _store(args: argparse.Namespace) -> AccountStore:
    return AccountStore(settings_from(args).index_dir)


def read_password(prompt: str = "Password: ") -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise AccountError("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        raise AccountError("no password on stdin (give it as the first line)")
    return line.rstrip("\r\n")


def run_add(args: argparse.Namespace) -> int:
    store = _store(args)
    store.accounts()  # an unsafe or damaged file is reported before asking for a password
    if store.get(args.name):
        raise AccountError(f"user {args.name!r} exists: use `rag user passwd {args.name}` to change the password")
    store.add(args.name, Role(args.role), read_password())
    print(f"added {args.name} ({args.role}) to {store.path}", flush=True)
    return 0


def run_list(args: argparse.Namespace) -> int:
    store = _store(args)
    accounts = store.accounts()
    if not accounts:
        print(f"no accounts in {store.path}: the app runs only on 127.0.0.1, without login", flush=True)
    for account in accounts.values():
        print(f"{account.name}\t{account.role.value}", flush=True)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    store = _store(args)
    store.remove(args.name)
    print(f"removed {args.name}", flush=True)
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    store = _store(args)
    if not store.get(args.name):
        raise AccountError(f"no user {args.name!r}")
    store.set_password(args.name, read_password("New password: "))
    print(f"password of {args.name} changed; its open sessions have ended", flush=True)
    return 0


def run_role(args: argparse.Namespace) -> int:
    store = _store(args)
    store.set_role(args.name, Role(args.role))
    print(f"{args.name} is now {args.role}", flush=True)
    return 0
