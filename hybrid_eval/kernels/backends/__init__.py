"""The kernel backends, one file each: ``reference``, ``torch`` (``torch_chunked.py``), ``fla``.

Each file defines one :class:`kernels.registry.Backend` object; ``kernels/backend.py`` registers them and states
the order ``"auto"`` tries them. The ops' own functions for a backend live in the op folders
(``kernels/<op>/reference.py``, ``torch_chunked.py``, ``fla.py``) and are declared by each op's ``__init__``.
"""
