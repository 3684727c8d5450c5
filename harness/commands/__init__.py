"""One module per ``harness`` command."""
