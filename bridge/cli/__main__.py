"""``python -m bridge.cli``: the same as the ``jht-bridge`` command."""

from bridge.cli import main

main()
