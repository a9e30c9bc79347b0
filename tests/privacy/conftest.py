"""Privacy fixtures: the receipts fixtures (a signed-off door with its PDF rendered)."""
from tests.receipts.conftest import signed  # noqa: F401
