"""What bench/load.py serves: the production app, and beside it, in the same gunicorn
processes, a bare Flask app answering "hello" at /_bench/hello: the baseline every figure of
the load benchmark is divided by."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from app import app

hello = Flask("hello")


@hello.get("/hello")
def say_hello():
    """The least a Flask view can do."""
    return "hello"


app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/_bench": hello})
