"""``python -m intelliauth_ext.testing --port 8765``: run a sandbox tenant on loopback.

Prints the URL, a ready confidential client (every scope) and a public client for
``intelliauth login`` (redirect URI ``http://127.0.0.1/callback``, any port), then serves
until Ctrl-C. With ``--fapi`` the tenant requires pushed authorization requests, and it
also prints its FAPI application's id and test private key (``private_key_jwt``,
DPoP-bound tokens).
"""

from __future__ import annotations

import argparse
import sys

import anyio

from ._sandbox import TEST_USER_EMAIL, TEST_USER_PASSWORD, Sandbox


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m intelliauth_ext.testing",
        description="Run a local, in-memory IntelliAuth sandbox tenant.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    parser.add_argument(
        "--no-validate", action="store_true", help="do not check traffic against the contract"
    )
    parser.add_argument(
        "--login-page",
        action="store_true",
        help="show the login page at /oauth2/authorize instead of auto-approving",
    )
    parser.add_argument(
        "--fapi",
        action="store_true",
        help="a FAPI 2.0 tenant: PAR required, and an application using private_key_jwt and DPoP",
    )
    parser.add_argument(
        "--dpop-nonces", action="store_true", help="demand server-provided DPoP nonces"
    )
    return parser.parse_args(argv)


async def _serve(options: argparse.Namespace) -> None:
    async with Sandbox.serve(
        host=options.host,
        port=options.port,
        validate=not options.no_validate,
        auto_approve=not options.login_page,
        background_webhooks=True,
        fapi=options.fapi,
        dpop_nonces=options.dpop_nonces,
    ) as sandbox:
        native = sandbox.add_client(name="Command line", public=True)
        print(f"IntelliAuth sandbox listening on {sandbox.url}")
        print(f"INTELLIAUTH_TENANT_URL={sandbox.url}")
        print(f"INTELLIAUTH_CLIENT_ID={sandbox.client_id}")
        print(f"INTELLIAUTH_CLIENT_SECRET={sandbox.client_secret}")
        print(f"public client for `intelliauth login` (no secret): {native.client_id}")
        print(f"test user: {TEST_USER_EMAIL} / {TEST_USER_PASSWORD}", flush=True)
        if options.fapi:
            # A throwaway key of an in-memory tenant, printed like the client secret above.
            print(f"INTELLIAUTH_FAPI_CLIENT_ID={sandbox.fapi_client_id}")
            print("FAPI client private key (private_key_jwt, kid fapi-1):")
            print(sandbox.fapi_private_key.strip(), flush=True)
        # uvicorn handles Ctrl-C / SIGTERM itself by stopping the server.
        assert sandbox.server_stopped is not None
        await sandbox.server_stopped.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until interrupted; return the exit status."""
    options = _parse(argv)
    try:
        anyio.run(_serve, options)
    except KeyboardInterrupt:
        return 0
    except OSError as exc:  # a busy port: one line, not uvicorn's traceback
        print(f"Error: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
