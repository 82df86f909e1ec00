"""The model store: the committed catalog of models and their checksum-verified local cache (store.py).

Nothing is imported here: every step's CLI imports its package, and `vton --help` should not read the catalog.
"""
