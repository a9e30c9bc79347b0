"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi …``."""
from delivery_sign import create_app

app = create_app()
