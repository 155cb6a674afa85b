"""WSGI entry point: `gunicorn wsgi:app` serves kbservice as `kbservice serve` does."""

from kbservice import create_app

app = create_app()
