"""Scripts for developers of rnn-bench, not part of the installed package (scripts/README.md)."""
