"""Email intake's configuration: config/firebell.yaml's `email_intake:` section (docs/email-intake.md). Pure.

The addresses firebell receives mail at (each may stand for a service) and the sender domains it hears; what it
does with each message is domain/mail_decisions.py's.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from .repeats import refuse_repeats

_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


def _lower_case(value: str) -> str:
    return value.strip().lower()


def _a_domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if not _DOMAIN.match(value):
        raise ValueError(f"{value!r} is not a domain name (e.g. example.com)")
    return value


Address = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), AfterValidator(_lower_case)]
Domain = Annotated[str, AfterValidator(_a_domain)]


class IntakeAddress(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)
    address: Address
    service: str | None = None  # incidents opened by mail to this address are this service's (the directory checks it)


class EmailIntake(BaseModel):
    """Mail to `addresses` opens incidents (SES receiving in AWS, the local SMTP listener locally). Only senders of
    `allowed_sender_domains` are heard: empty, nobody's mail is (the default, so that a deployment opens nothing
    from mail until someone says whose)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)
    addresses: list[IntakeAddress] = []
    allowed_sender_domains: list[Domain] = []
    # In AWS, SES's verdicts in the stored message must authenticate the sender as its From domain (DMARC, or
    # SPF or DKIM aligned with it). Locally no verdicts exist and nothing is checked.
    require_authentication: bool = True

    @field_validator("addresses")
    @classmethod
    def _each_address_once(cls, addresses: list[IntakeAddress]) -> list[IntakeAddress]:
        refuse_repeats(a.address for a in addresses)
        return addresses

    @field_validator("allowed_sender_domains")
    @classmethod
    def _each_domain_once(cls, domains: list[str]) -> list[str]:
        refuse_repeats(domains)
        return domains

    def address(self, recipient: str) -> IntakeAddress | None:
        wanted = recipient.strip().lower()
        return next((a for a in self.addresses if a.address == wanted), None)


# Where received mail is kept (the mail bucket): `inbound/<intake address>/<SES message id>`, one receipt rule per
# address, so the key says which address a message came to (the raw message does not: Bcc).
INBOUND_PREFIX = "inbound/"


def object_prefix(address: str) -> str:
    return f"{INBOUND_PREFIX}{address.strip().lower()}/"


def recipient_of(key: str) -> str | None:
    """The intake address a stored message's key names; None for a key outside INBOUND_PREFIX."""
    if not key.startswith(INBOUND_PREFIX):
        return None
    address, slash, rest = key[len(INBOUND_PREFIX) :].partition("/")
    return address if slash and rest and "@" in address else None
