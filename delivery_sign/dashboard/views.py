"""Dashboard page handlers."""
from flask import render_template

from .blueprint import bp


@bp.get("/dashboard")
def dashboard():
    return render_template("dashboard/index.html")
