"""WSGI entry point: `gunicorn app:app`, `flask --app app ...`."""

from raceapp import create_app

app = create_app()
