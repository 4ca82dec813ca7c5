"""`python -m evoforge.cli`: the same as the `evoforge` console script."""

from evoforge.cli import main

main()
