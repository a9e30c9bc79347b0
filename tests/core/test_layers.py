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
