"""`python -m runyard` runs the command line."""

from runyard.cli import main

main()
