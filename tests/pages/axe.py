"""axe-core (from the npm registry, `npm ci` at the repository root) run inside a page.

The script is evaluated through the DevTools protocol, which the page's CSP does not
govern, so the page under test keeps its real CSP (no bypass)."""
import functools
import os

import pytest

AXE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "node_modules", "axe-core",
                   "axe.min.js")


@functools.lru_cache(maxsize=1)
def axe_source() -> str:
    with open(AXE, encoding="utf-8") as fh:
        return fh.read()


def violations(page) -> list[dict]:
    """axe's WCAG 2.x A/AA violations of what is on screen now, as {id, impact, nodes}."""
    if not os.path.exists(AXE):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{AXE} is missing: run `npm ci` at the repository root")
        pytest.skip("axe-core is not installed (npm ci)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source() + "\n;undefined")
    return page.evaluate("""() => axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
        resultTypes: ['violations']})
      .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                         nodes: v.nodes.map(n => n.target.join(' '))})))""")


def assert_accessible(page, screen: str) -> None:
    found = violations(page)
    assert found == [], f"axe on {screen}: {found}"
