"""``python -m intelliauth_ext.cli``: the same as the ``intelliauth`` command."""

from intelliauth_ext.cli import main

if __name__ == "__main__":
    main(prog_name="intelliauth")
