"""The layering the style guide asks for, read off the source by tools/import_graph.py."""
from tools import import_graph

DOMAINS = {"accounts", "consent", "dashboard", "evidence", "geo", "pages", "privacy", "receipts", "reports",
           "signing", "waybills", "webhooks"}


def test_core_imports_no_domain():
    edges = import_graph.graph()
    assert {b for a, b in edges if a == "core"} & DOMAINS == set()


def test_accounts_and_core_import_each_other_no_more():
    assert ("accounts", "core") not in import_graph.cycles(import_graph.graph())


def test_the_graph_sees_a_relative_import(tmp_path, monkeypatch):
    package = tmp_path / "delivery_sign"
    (package / "core").mkdir(parents=True)
    (package / "accounts").mkdir()
    (package / "core" / "auth.py").write_text("from ..accounts.logins import x\n")
    (package / "accounts" / "logins.py").write_text("from ..core import auth\n")
    monkeypatch.setattr(import_graph, "ROOT", package)
    edges = import_graph.graph()
    assert edges == {("core", "accounts"): 1, ("accounts", "core"): 1}
    assert import_graph.cycles(edges) == [("accounts", "core")]


def test_receipts_imports_nothing_of_signing():
    """signing uses receipts (a sign-off writes one); the receipt's link's waybills come
    from signing through ``create_app`` (receipts.services.init_link_waybills)."""
    assert ("receipts", "signing") not in import_graph.graph()


def _source_calls_and_stores():
    """(module path, kind, name) for every ``X(...)``/``delete(X)`` call and every ``a.status = ``."""
    import ast

    found = set()
    for path in sorted(import_graph.ROOT.rglob("*.py")):
        rel = path.relative_to(import_graph.ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                found.add((rel, "call", node.func.id))
                if node.func.id == "delete" and node.args and isinstance(node.args[0], ast.Name):
                    found.add((rel, "delete", node.args[0].id))
            elif isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for leaf in (target.elts if isinstance(target, ast.Tuple) else [target]):
                        if isinstance(leaf, ast.Attribute) and leaf.attr == "status":
                            found.add((rel, "status", ast.unparse(leaf.value)))
    return found


def test_photo_rows_are_made_and_deleted_by_their_owner_only():
    found = _source_calls_and_stores()
    assert {rel for rel, kind, name in found if kind == "call" and name in ("Photo", "PhotoHashChunk")} \
        <= {"receipts/photos.py"}
    assert {rel for rel, kind, name in found if kind == "delete" and name in ("Photo", "PhotoHashChunk")} \
        == {"receipts/photos.py"}


def test_a_waybill_status_changes_in_the_state_machine_only():
    found = _source_calls_and_stores()
    # webhooks' delivery rows and core's problems have a status of their own
    assert {(rel, name) for rel, kind, name in found if kind == "status" and name != "self"} == {
        ("waybills/transitions.py", "waybill"), ("webhooks/services.py", "delivery")}
