"""Gradio glue for rag/auth.py: the login check, the client address it throttles by, expiring sessions.

Gradio guards every route (page, config, API, queue, uploads, files) with its login check when `launch(auth=)`
is given; what a logged-in user may do is decided per handler by AccessPolicy.require, so the gradio_client
API and the page's own calls (even those without an API name, which Gradio still accepts by fn_index) are
refused alike.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import gradio as gr

from rag.auth import AccessPolicy, Authenticator, ExpiringTokens, LoginThrottle, Principal
from rag.ui.render import escape
from rag.users import Role

CLIENT_ADDRESS: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_address", default=None)


class ClientAddressMiddleware:
    """Pure ASGI middleware: records the TCP peer of each request for the login throttle. Deliberately not
    X-Forwarded-For (a client could set it to anything); behind a reverse proxy every client shares the proxy's
    address, and the per-user limit still applies."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        client = scope.get("client")
        token = CLIENT_ADDRESS.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            CLIENT_ADDRESS.reset(token)


def login_function(authenticator: Authenticator) -> Callable[[str, str], Awaitable[bool]]:
    async def check(username: str, password: str) -> bool:
        address = CLIENT_ADDRESS.get()
        # bcrypt takes ≈0.2 s: off the event loop, so one login never stalls every other session's stream.
        return await anyio.to_thread.run_sync(authenticator.check, username, password, address)

    return check


def launch_options(policy: AccessPolicy, throttle: LoginThrottle) -> dict[str, Any]:
    """Keyword arguments for Blocks.launch that turn the login on (or nothing, for the local no-account mode)."""
    from starlette.middleware import Middleware

    options: dict[str, Any] = {"app_kwargs": {"middleware": [Middleware(ClientAddressMiddleware)]}}
    if policy.accounts_on:
        options["auth"] = login_function(Authenticator(policy.store, throttle))
        options["auth_message"] = "newsrag: log in with your account (ask an admin for one)."
    return options


def install_session_expiry(app: gr.Blocks, policy: AccessPolicy, ttl_s: float) -> None:
    """Replace Gradio's never-ending session table with one whose sessions end (see ExpiringTokens)."""
    server = app.server_app
    if policy.accounts_on and server is not None:
        server.tokens = ExpiringTokens(ttl_s, policy.store.session_valid)


def principal(policy: AccessPolicy, request: gr.Request | None) -> Principal | None:
    return policy.principal(getattr(request, "username", None) if request is not None else None)


def require(policy: AccessPolicy, request: gr.Request | None, needed: Role) -> Principal:
    """The request's user if it has the role `needed`; else a gr.Error the caller sees as one line."""
    from rag.errors import RagError

    try:
        return policy.require(getattr(request, "username", None) if request is not None else None, needed)
    except RagError as exc:  # AccessDenied, or the accounts file damaged or made unsafe while the app runs
        raise gr.Error(escape(str(exc)), print_exception=False) from None
