"""`python -m examvault` is the `examvault` command."""

from examvault.cli import main

main()
