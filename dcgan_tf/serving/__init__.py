"""Trained models for inference and for servers: what ``--model`` names (``specs``), a spec ->
networks with nothing of training (``loading``), SavedModels for TF Serving (``export``) and
the completers of an export, in this process or over TF Serving's REST API (``clients``)."""
