"""The web app's user bar (who is logged in, log out) and the admins' Accounts tab.

Shown only when accounts are on. Every handler of the tab requires the admin role on the server; the table
loads empty for anyone else, so a reader's page never carries the list of accounts.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from rag.auth import AccessPolicy
from rag.errors import RagError
from rag.ui.auth import principal, require
from rag.ui.render import escape
from rag.users import AccountError, Role


def user_bar(policy: AccessPolicy) -> gr.Markdown:
    """A line naming the logged-in user and role, with a log-out button (Gradio's /logout ends the session)."""
    with gr.Row(visible=policy.accounts_on):
        who = gr.Markdown(elem_id="who")
        gr.Button("Log out", link="/logout", size="sm", scale=0, min_width=100, elem_id="logout")
    return who


def who_line(policy: AccessPolicy, request: gr.Request) -> str:
    user = principal(policy, request)
    if not policy.accounts_on or user is None:
        return ""
    return f"Logged in as **{escape(user.name)}** ({user.role.value})"


def accounts_tab(policy: AccessPolicy) -> Any:
    """The Accounts tab (admins). Returns the table component, to be filled on page load by `load_accounts`."""
    with gr.Tab("Accounts", visible=policy.accounts_on, elem_id="accounts-tab"):
        gr.Markdown("Admins only. Passwords are stored as bcrypt hashes; a new password or a removal ends the "
                    "user's open sessions at once. The same as `rag user …` on the server.")
        table = gr.Dataframe(headers=["user", "role"], value=[], interactive=False, elem_id="accounts")
        with gr.Row():
            name = gr.Textbox(label="User name", max_lines=1, elem_id="account-name")
            role = gr.Dropdown([r.value for r in Role], value=Role.reader.value, label="Role", elem_id="account-role")
            password = gr.Textbox(label="Password (for add / new password)", type="password", max_lines=1,
                                  elem_id="account-password")
        with gr.Row():
            add = gr.Button("Add", size="sm", elem_id="account-add")
            set_role = gr.Button("Set role", size="sm", elem_id="account-set-role")
            set_password = gr.Button("Set password", size="sm", elem_id="account-set-password")
            remove = gr.Button("Remove", size="sm", variant="stop", elem_id="account-remove")
        status = gr.Markdown(elem_id="account-status")

    def rows() -> list[list[str]]:
        return [[a.name, a.role.value] for a in policy.store.accounts().values()]

    def act(action: str, user: str, new_role: str, new_password: str, request: gr.Request):  # noqa: ANN202
        who = require(policy, request, Role.admin)
        user = (user or "").strip()
        try:
            if action in ("role", "remove") and user == who.name:
                raise AccountError("you cannot change or remove your own account here (use `rag user` on the server)")
            if action == "add":
                policy.store.add(user, Role(new_role), new_password or "")
                line = f"Added {user} ({new_role})."
            elif action == "role":
                policy.store.set_role(user, Role(new_role))
                line = f"{user} is now {new_role}."
            elif action == "password":
                policy.store.set_password(user, new_password or "")
                line = f"New password set for {user}; their open sessions have ended."
            else:
                policy.store.remove(user)
                line = f"Removed {user}; their open sessions have ended."
        except (RagError, ValueError) as exc:
            return gr.update(), "", f"✖ {escape(str(exc))}"
        return rows(), "", escape(line)

    def add_account(user: str, new_role: str, new_password: str, request: gr.Request):  # noqa: ANN202
        return act("add", user, new_role, new_password, request)

    def role_account(user: str, new_role: str, new_password: str, request: gr.Request):  # noqa: ANN202
        return act("role", user, new_role, new_password, request)

    def password_account(user: str, new_role: str, new_password: str, request: gr.Request):  # noqa: ANN202
        return act("password", user, new_role, new_password, request)

    def remove_account(user: str, new_role: str, new_password: str, request: gr.Request):  # noqa: ANN202
        return act("remove", user, new_role, new_password, request)

    inputs, outputs = [name, role, password], [table, password, status]
    # No API names: account management is for the page; the handlers check the admin role all the same.
    add.click(add_account, inputs, outputs, api_name=False)
    set_role.click(role_account, inputs, outputs, api_name=False)
    set_password.click(password_account, inputs, outputs, api_name=False)
    remove.click(remove_account, inputs, outputs, api_name=False)

    def load_accounts(request: gr.Request) -> list[list[str]]:
        user = principal(policy, request)
        return rows() if policy.accounts_on and user is not None and user.can(Role.admin) else []

    return table, load_accounts
