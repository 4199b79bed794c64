"""Framework backends. One module per framework behind the interface in ``backends.base``.

Importing this package imports no framework: each backend imports TensorFlow/Keras or PyTorch only when
it is built (inside the worker process), so a machine with one framework can still use the other.
"""
