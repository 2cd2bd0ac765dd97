"""Packed documents (firebell/data/packing.py): what is written must stay readable."""

import zlib

import pytest

from firebell.data import packing

DOCUMENT = {
    "title": "disk full — über",
    "sla": {"response": {"due_at": "2026-05-01T10:30:00Z"}},
    "labels": {},
    "links": [],
    "n": 1.5,
}


@pytest.mark.parametrize("dictionary", [None, packing.INCIDENT_V1])
def test_a_packed_document_unpacks_to_itself(dictionary):
    assert packing.unpack(packing.pack(DOCUMENT, dictionary)) == DOCUMENT


def test_a_dictionary_once_written_never_changes():
    """zlib's header names the dictionary by its Adler-32: items packed with v1 are read with exactly these bytes.
    A new shape gets a new dictionary (and v1 stays, for reading)."""
    assert zlib.adler32(packing.INCIDENT_V1) == 0xCBABE8BD


def test_the_dictionary_pays_for_itself_on_an_incident():
    incident = {
        "title": "checkout-5xx-rate",
        "source": "cloudwatch_alarm",
        "category": "application",
        "impact": "high",
        "sla": {"response": {"target_minutes": 30.0, "at_risk_at": None, "due_at": None}},
        "escalation": {"runs": 1, "level": 1},
    }
    assert len(packing.pack(incident, packing.INCIDENT_V1)) < len(packing.pack(incident))
