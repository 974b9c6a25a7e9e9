"""Run the command line as `python -m evidence_kit`."""

from evidence_kit.cli import main

main()
