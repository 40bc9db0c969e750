"""The web app (``app.py``): ``server.create_app`` assembles it from the HTTP handlers
(``routes``), the work they queue (``jobs``, on ``lanes``), waiting for it (``answers``), the
photo cache (``photos``), error answers (``errors``), what it completes with (``engine``), how
much it takes (``limits``) and the page (``static/``: no external assets)."""
