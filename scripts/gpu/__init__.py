"""Scripts for running rnn-bench on a GPU machine: the smoke run, its wheels, the step-timing check (docs/gpu.md)."""
