"""``intelliauth``, the command line (``pip install "intelliauth[cli]"``).

::

    curl -H "Authorization: Bearer $(intelliauth token)" "$INTELLIAUTH_TENANT_URL/api/v1/users"
    intelliauth users list --json --status active
    intelliauth users import people.csv --batch-size 1000
    intelliauth webhooks verify -H "IntelliAuth-Signature: $SIGNATURE" < body.json
    intelliauth sandbox --port 8765

Modules, one command group each: ``_token``, ``_users`` (with ``_import_file``, the rows of
an import file, ``_importer``, their batches, and ``_progress``), ``_webhooks``,
``_sandbox``; ``_main`` is the group itself. ``_config`` reads the environment or a
profile, ``_context`` builds clients from it, ``_token_cache`` keeps tokens between runs
and ``_runner`` turns SDK errors into one-line messages.
"""

from intelliauth_ext.cli._main import main

__all__ = ["main"]
