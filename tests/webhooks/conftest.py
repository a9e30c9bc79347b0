import pytest

from .receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def fast_webhooks(app):
    """Retries without waiting and a short client timeout, restored afterwards."""
    saved = {k: app.config[k] for k in ("WEBHOOK_RETRY_SCHEDULE_S", "WEBHOOK_TIMEOUT_S")}
    app.config.update(WEBHOOK_RETRY_SCHEDULE_S=(0,) * 9, WEBHOOK_TIMEOUT_S=0.3)
    yield
    app.config.update(saved)
