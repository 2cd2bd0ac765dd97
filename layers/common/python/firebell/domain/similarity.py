"""Similar incidents (pure): past incidents ranked by how much they look like this one, with how each was resolved.

The score is a weighted sum: the cosine similarity of the two texts' TF-IDF vectors (title and description: words and
their letter trigrams, weighted by how rare they are among the candidates, so "checkout" counts for less where every
incident says it),
plus the same alert source, plus the same service. A shared alert is the strongest sign (the same alarm firing
again); text finds what no key links: a report in a person's words next to an alarm's name.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .facts import IncidentFacts
from .models import PreviousFix

TEXT_WEIGHT, ALERT_WEIGHT, SERVICE_WEIGHT = 0.6, 0.3, 0.1
THRESHOLD = 0.2
# What a first page names: the closest past incidents, if they look like it at least this much, with their fix.
PAGE_THRESHOLD, PAGE_LIMIT = 0.3, 2
_WORD = re.compile(r"[a-z][a-z0-9]+|[0-9]+[a-z]+[a-z0-9]*")
# Words that say nothing about what went wrong (an alarm's state, filler).
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "the",
        "to",
        "was",
        "were",
        "with",
        "alarm",
        "state",
        "ok",
        "insufficient",
        "data",
        "threshold",
        "crossed",
        "datapoints",
        "datapoint",
        "last",
        "out",
        "than",
        "greater",
        "less",
        "equal",
    ]
)


@dataclass(frozen=True)
class Similar:
    facts: IncidentFacts
    score: float
    text: float
    same_alert: bool
    same_service: bool


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def terms(text: str) -> list[str]:
    """Its words, and their letter trigrams: "deadlock" and "deadlocked", "certificate" and "certificates" share
    most of theirs (on the labelled set, the best match is in the right group for 15 of 20 titles, 8 on words alone)."""
    found = words(text)
    return found + [f"#{w[i : i + 3]}" for w in found if len(w) > 3 for i in range(len(w) - 2)]


def _vector(tokens: list[str], idf: dict[str, float]) -> dict[str, float]:
    counts = Counter(tokens)
    return {w: (1 + math.log(n)) * idf.get(w, 0.0) for w, n in counts.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(value * b.get(word, 0.0) for word, value in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def rank(
    text: str,
    alert: str | None,
    service: str | None,
    candidates: Sequence[IncidentFacts],
    limit: int = 5,
    exclude: str | None = None,
) -> list[Similar]:
    """The `limit` candidates most like (text, alert, service) that score at least THRESHOLD, best first."""
    pool = [c for c in candidates if c.incident_id != exclude and not c.drill]
    documents = [terms(f"{c.title} {c.description}") for c in pool]
    query = terms(text)
    # Smoothed IDF over the candidates and the query: a word in every document still weighs a little.
    frequency = Counter(w for tokens in [*documents, query] for w in set(tokens))
    total = len(documents) + 1
    idf = {w: math.log((1 + total) / (1 + n)) + 1 for w, n in frequency.items()}
    target = _vector(query, idf)
    found = []
    for candidate, tokens in zip(pool, documents, strict=True):
        text_score = _cosine(target, _vector(tokens, idf))
        same_alert = bool(alert) and candidate.alert == alert
        same_service = bool(service) and candidate.service == service
        score = TEXT_WEIGHT * text_score + ALERT_WEIGHT * same_alert + SERVICE_WEIGHT * same_service
        if score >= THRESHOLD:
            found.append(Similar(candidate, round(score, 4), round(text_score, 4), same_alert, same_service))
    return sorted(found, key=lambda s: (-s.score, -s.facts.opened_at.timestamp()))[:limit]


def fixes_like(
    text: str, alert: str | None, service: str | None, candidates: Sequence[IncidentFacts]
) -> list[PreviousFix]:
    """The past incidents a first page names: the closest that were resolved with notes and look like this one."""
    resolved = [c for c in candidates if c.resolution_notes]
    return [
        PreviousFix(
            reference=s.facts.reference,
            title=s.facts.title[:120],
            resolved_at=s.facts.resolved_at,
            resolved_by=s.facts.resolved_by,
            resolution_notes=(s.facts.resolution_notes or "")[:300],
        )
        for s in rank(text, alert, service, resolved, PAGE_LIMIT)
        if s.score >= PAGE_THRESHOLD
    ]
