"""``intelliauth``, the command line (``pip install "intelliauth[cli]"``).

::

    curl -H "Authorization: Bearer $(intelliauth token)" "$INTELLIAUTH_TENANT_URL/api/v1/users"
    intelliauth users list --json --status active
    intelliauth users import people.csv --batch-size 1000
    intelliauth webhooks verify -H "IntelliAuth-Signature: $SIGNATURE" < body.json
    intelliauth sandbox --port 8765
    intelliauth login && intelliauth whoami     # a person, with a public client

Modules, one command group each: ``_login`` (login, whoami, logout), ``_token``,
``_users`` (with ``_import_file``, the rows of an import file, ``_importer``, their
batches, and ``_progress``), ``_webhooks``, ``_sandbox``; ``_main`` is the group itself.
``_config`` reads the environment or a profile, ``_context`` builds clients from it (as
the signed-in user when ``_session`` has one and no secret is configured),
``_token_cache`` keeps machine tokens between runs and ``_runner`` turns SDK errors into
one-line messages.

The ``intelliauth`` script is installed with the base package, so it starts at
:func:`console_main`, which imports nothing of click until it knows click is there; ``main``
(the click group) is imported on first use.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from intelliauth_ext.cli._main import main

__all__ = ["console_main", "main"]

#: The one line the command prints, on stderr, when the ``[cli]`` extra is missing.
MISSING_CLI_EXTRA: Final = (
    'intelliauth: the command line needs the [cli] extra: pip install "intelliauth[cli]"'
)
#: The exit status then: a usage error, as for a command line that can not run.
MISSING_CLI_EXTRA_STATUS: Final = 2


def console_main() -> None:
    """Run the ``intelliauth`` command (the installed script and ``python -m``).

    Without click (``intelliauth`` installed without ``[cli]``) it prints
    :data:`MISSING_CLI_EXTRA` and exits with status 2, instead of a traceback.
    """
    try:
        from intelliauth_ext.cli._main import main
    except ModuleNotFoundError as exc:
        if exc.name != "click":
            raise
        print(MISSING_CLI_EXTRA, file=sys.stderr)
        raise SystemExit(MISSING_CLI_EXTRA_STATUS) from None
    main(prog_name="intelliauth")


def __getattr__(name: str) -> Any:
    if name == "main":
        from intelliauth_ext.cli._main import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
