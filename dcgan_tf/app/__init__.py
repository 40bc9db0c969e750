"""The web app (``app.py``): the HTTP API, its engines and queues, and the page."""
