"""The library of ``complete.py``: its config (``config``) and the run that takes images, masks
and a model (or an export) in and writes pictures and ``metrics.json`` out (``run``)."""
