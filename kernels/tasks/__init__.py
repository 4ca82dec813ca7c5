"""One module per kernel task, each defining `SPEC` (see `evoforge.kernels.spec`)."""
