"""Domain errors. The API maps each to one HTTP status in one place (functions/api)."""


class DomainError(Exception):
    """Base class: a request the domain refuses, with a message meant for the caller."""


class IncidentNotFound(DomainError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(f"incident {incident_id!r} not found")
        self.incident_id = incident_id


class UnknownSchedule(DomainError):
    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"schedule {schedule_id!r} not found")


class InvalidTransition(DomainError):
    """An action that the incident's current status does not allow (HTTP 409)."""

    def __init__(self, reference: str, status: str, action: str, reason: str) -> None:
        super().__init__(f"cannot {action} {reference}: {reason}")
        self.status = status
        self.action = action


class ConcurrentUpdate(Exception):
    """Another writer saved the incident first; the caller reloads and retries."""


class PermanentMessageError(Exception):
    """A queued message that no retry can fix: it goes to the dead-letter queue with this reason."""


class OnceKeyUsed(DomainError):
    """A single-use key (an acknowledgement link's nonce) was used before."""

    def __init__(self, key: str) -> None:
        super().__init__("this acknowledgement link was already used")
        self.key = key


class IdempotencyKeyTaken(Exception):
    """Another request with the same Idempotency-Key opened an incident first; the caller returns that one."""

    def __init__(self, key: str) -> None:
        super().__init__("idempotency key already bound to an incident")
        self.key = key
