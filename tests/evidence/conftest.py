"""Fixtures for the stroke, rendering and replay tests: the labelled signature corpus."""
import json
import pathlib

import pytest

SIGNATURE_CORPUS = pathlib.Path(__file__).resolve().parent.parent / "data" / "signatures"


def _load(name):
    return json.loads((SIGNATURE_CORPUS / f"{name}.json").read_text("utf-8"))


@pytest.fixture(scope="session")
def genuine_signatures():
    return _load("genuine")


@pytest.fixture(scope="session")
def garbage_signatures():
    return _load("garbage")


@pytest.fixture(scope="session")
def robot_signatures():
    return _load("robots")


@pytest.fixture(scope="session")
def replayed_signatures():
    return _load("replays")


@pytest.fixture(scope="session")
def held_out_replays():
    """Replays of every class from their own seed, never used to choose constants."""
    return _load("replays_heldout")


@pytest.fixture(scope="session")
def chinese_signature(genuine_signatures):
    """A genuine three-character Chinese signature of a few hundred points."""
    return next(item for item in genuine_signatures
                if len(item["signer_name"]) == 3 and 250 <= sum(map(len, item["strokes"])) <= 600)


@pytest.fixture(scope="session")
def latin_signature(genuine_signatures):
    return next(item for item in genuine_signatures if " " in item["signer_name"])
