"""``python -m intelliauth_ext.cli``: the same as the ``intelliauth`` command."""

from intelliauth_ext.cli import console_main

if __name__ == "__main__":
    console_main()
