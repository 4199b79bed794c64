"""The IMDB data pipeline: identical, fingerprinted arrays for every backend.

Sources (``source``): the aclImdb archive or folder (``aclimdb``), keras' imdb.npz (``keras_npz``),
``synthetic``. Encoding follows keras' ``imdb.load_data`` + ``pad_sequences`` (``tokenizer``,
``encoding``); prepared arrays are cached without pickle (``cache``, ``prepared``).
"""

from .dataset import Dataset, fingerprint, limit_dataset
from .loader import load_dataset
from .prepared import load_prepared, save_prepared

__all__ = ["Dataset", "fingerprint", "limit_dataset", "load_dataset", "load_prepared", "save_prepared"]
