"""The store's SQL, one module per subject (the same subjects as the domain's packages).

Each module holds one mixin on :class:`~tuyacloud.store.queries.primitives.Primitives`; ``store/base.py``
composes them into the one interface the domain sees. Nothing here imports ``store.base``.
"""
