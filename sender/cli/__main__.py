"""`python -m sender.cli …`: the same as the `sender` console script."""

from sender.cli.main import main

main()
