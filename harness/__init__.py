"""rnn-bench harness: the framework-neutral core (spec, data, weights, runner, records, report, checks, CLI).

Nothing under ``harness/`` imports TensorFlow, Keras or PyTorch; only ``backends/`` does, inside a worker.
"""

__version__ = "0.1.0"
