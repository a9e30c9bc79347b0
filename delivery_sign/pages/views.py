"""Page handlers."""
from flask import render_template

from ..extensions import api
from .blueprint import bp

_METHODS = ("get", "post", "put", "patch", "delete")


@bp.get("/api/docs")
def api_docs():
    """The API reference rendered from the OpenAPI document: no scripts, no internet."""
    spec = api.spec.to_dict()
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                operations.append({"path": path, "method": method.upper(), **item[method]})
    return render_template("api_docs.html", spec=spec, operations=operations,
                           schemas=spec.get("components", {}).get("schemas", {}))
