"""What a deployer gives the CDK app (docs/deploy.md, "Configuration"): CDK context, `-c firebell:<name>=<value>` on
the command line or under "context" in cdk.context.json / cdk.json, read and checked once before any construct is
made, so that a deployment missing something stops with one message that lists every problem and how to fix it.

`firebell:env` says what is being synthesized:
- `demo` (the default: `make synth`, `make test`): config/firebell.yaml's example values stand in for whatever is not
  given, as they do for the local runtime;
- `prod`: a deployment. The sender address and the ops contacts must be given here (never edits to config/, which the
  common layer ships), and no value may be one of the documentation domains (example.com…), which reach nobody.

Other settings are optional in both: the SES identity (the address itself or its domain), the SMS origination
identity, custom domains with their ACM certificates for the API and the console, a Route 53 hosted zone for their
records (and the SES domain's DKIM records), and the ones that existed before this module, checked here too so that
every problem shows at once: `firebell:idp` (federation.py), `firebell:auth-domain-prefix` (people.py),
`firebell:waf` (api_protection.py), `firebell:email-intake` (mail.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from firebell.config import load_config
from firebell.domain.directory import Directory
from firebell.settings import SENDER_VARIABLE, SMS_ORIGINATION_VARIABLE
from infra.cdk.api_protection import WAF_CONTEXT
from infra.cdk.federation import IDP_CONTEXT, FederationError, IdentityProviderSpec, parse
from infra.cdk.mail import EMAIL_INTAKE_CONTEXT
from infra.cdk.people import DOMAIN_PREFIX_CONTEXT, domain_prefix_problem
from infra.topology import CONFIG_DIR, ROOT, TOPOLOGY, Permissions

ENV = "firebell:env"
SENDER = "firebell:sender"
SES_IDENTITY = "firebell:ses-identity"
OPS_EMAILS = "firebell:ops-emails"
OPS_PHONES = "firebell:ops-phones"
SMS_ORIGINATION = "firebell:sms-origination"
API_DOMAIN = "firebell:api-domain"
API_CERTIFICATE = "firebell:api-certificate-arn"
CONSOLE_DOMAIN = "firebell:console-domain"
CONSOLE_CERTIFICATE = "firebell:console-certificate-arn"
HOSTED_ZONE_ID = "firebell:hosted-zone-id"
HOSTED_ZONE_NAME = "firebell:hosted-zone-name"
# Upgrading a stack whose indexes project ALL (before issue 10), one index change per deploy (docs/deploy.md).
LEGACY_INDEXES = "firebell:legacy-all-indexes"
OMIT_INDEXES = "firebell:omit-indexes"
# Read where they are used (their modules name them); listed so that a misspelt key is refused.
AUTH_DOMAIN_PREFIX = DOMAIN_PREFIX_CONTEXT
WAF = WAF_CONTEXT
EMAIL_INTAKE = EMAIL_INTAKE_CONTEXT

ENVIRONMENTS = ("demo", "prod")
KNOWN = {
    ENV,
    SENDER,
    SES_IDENTITY,
    OPS_EMAILS,
    OPS_PHONES,
    SMS_ORIGINATION,
    API_DOMAIN,
    API_CERTIFICATE,
    CONSOLE_DOMAIN,
    CONSOLE_CERTIFICATE,
    HOSTED_ZONE_ID,
    HOSTED_ZONE_NAME,
    LEGACY_INDEXES,
    OMIT_INDEXES,
    IDP_CONTEXT,
    AUTH_DOMAIN_PREFIX,
    WAF,
    EMAIL_INTAKE,
}

EMAIL = re.compile(r"[^@\s,]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
E164 = re.compile(r"\+[1-9]\d{6,14}")
# An alphanumeric sender ID: 1-11 letters, digits and spaces with at least one letter (AWS End User Messaging SMS).
SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
DOMAIN = re.compile(r"(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
# arn:aws:acm:<region>:<account>:certificate/<id>
CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]+")
HOSTED_ZONE = re.compile(r"Z[A-Z0-9]{1,31}")
# CloudFront takes its certificates from this region only.
CLOUDFRONT_CERTIFICATE_REGION = "us-east-1"
# RFC 2606 and RFC 6761: reserved for documentation; mail to them reaches nobody.
PLACEHOLDER_DOMAINS = ("example.com", "example.org", "example.net", "example", "invalid", "test", "localhost")
GUIDE = "docs/deploy.md#configuration"
# North American numbers that reach nobody: area code 555 (not in service) and 555-0100–0199 (reserved for fiction).
FICTIONAL_PHONE = re.compile(r"\+1(555\d{7}|\d{3}55501\d{2})")


class Context(Protocol):
    def try_get_context(self, key: str) -> Any: ...


class DeploySettingsError(ValueError):
    """Every problem with the deployer's context, each naming its key; the CDK app prints them and stops."""

    def __init__(self, environment: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"firebell: cannot synthesize (firebell:env={environment}): {len(problems)} setting(s) to fix\n{lines}\n"
            f'Give each as -c key=value on the cdk command line, or under "context" in cdk.context.json ({GUIDE}).'
        )


@dataclass(frozen=True)
class CustomDomain:
    """A name people use instead of AWS's, with the ACM certificate that covers it."""

    name: str
    certificate_arn: str

    @property
    def url(self) -> str:
        return f"https://{self.name}"


@dataclass(frozen=True)
class HostedZone:
    zone_id: str
    name: str

    def covers(self, domain: str) -> bool:
        return domain == self.name or domain.endswith(f".{self.name}")


@dataclass(frozen=True)
class DeploySettings:
    environment: str
    sender: str
    # What SES verifies: the sender's own address, or a domain (DKIM) that covers it.
    ses_identity: str
    ops_emails: tuple[str, ...]
    ops_phones: tuple[str, ...]
    # Whether the sender was given here rather than taken from config/firebell.yaml (the functions are then told).
    sender_given: bool = False
    sms_origination: str | None = None
    api_domain: CustomDomain | None = None
    console_domain: CustomDomain | None = None
    hosted_zone: HostedZone | None = None
    identity_providers: tuple[IdentityProviderSpec, ...] = field(default=())
    # Global secondary indexes rendered as a stack before issue 10 has them (projection ALL), and left out.
    legacy_all_indexes: tuple[str, ...] = ()
    omitted_indexes: tuple[str, ...] = ()

    @property
    def ses_identity_is_domain(self) -> bool:
        return "@" not in self.ses_identity


def read(context: Context, directory: Directory | None = None, account: str | None = None) -> DeploySettings:
    """The settings the context gives, with config/firebell.yaml's values for what a demo may leave out.

    `account`: the AWS account the CDK CLI resolved from the caller's credentials (CDK_DEFAULT_ACCOUNT), if any."""
    directory = directory if directory is not None else load_config(CONFIG_DIR).directory
    problems: list[str] = []
    environment = _text(context, ENV) or "demo"
    if _text(context, ENV) is None and account:
        # A bare `cdk deploy` (an upgrade run without the first deploy's -c values) would otherwise deploy the
        # demo's sender and drop the custom domains without a word.
        problems.append(
            f"{ENV}: not given, and the CDK CLI has credentials for account {account}: a deployment says "
            f"-c {ENV}=prod with its settings (keep them in cdk.context.json, {GUIDE}); "
            f"-c {ENV}=demo deploys the demo's example values on purpose"
        )
    if environment not in ENVIRONMENTS:
        problems.append(
            f"{ENV}: 'demo' (the default: config/firebell.yaml's example values) or 'prod'; got {environment!r}"
        )
    deploying = environment == "prod"
    values = _given(context)
    unknown = sorted(key for key in values if key.startswith("firebell:") and key not in KNOWN)
    problems += [f"{key}: not a firebell setting (known: {', '.join(sorted(KNOWN))})" for key in unknown]

    sender = _sender(context, directory, deploying, problems)
    ses_identity = _ses_identity(context, sender, problems)
    ops_emails, ops_phones = _ops(context, directory, deploying, problems)

    origination = _text(context, SMS_ORIGINATION)
    if origination is not None and not (E164.fullmatch(origination) or SENDER_ID.fullmatch(origination)):
        problems.append(
            f"{SMS_ORIGINATION}: an origination number in E.164 (+14155550100) or a sender ID (1-11 letters and "
            f"digits); got {origination!r}"
        )

    api_domain = _domain(context, API_DOMAIN, API_CERTIFICATE, problems)
    console_domain = _domain(
        context, CONSOLE_DOMAIN, CONSOLE_CERTIFICATE, problems, region=CLOUDFRONT_CERTIFICATE_REGION
    )
    if api_domain and console_domain and api_domain.name == console_domain.name:
        problems.append(f"{API_DOMAIN}, {CONSOLE_DOMAIN}: two names are needed; both are {api_domain.name}")
    zone = _zone(context, problems)
    if zone is not None:
        problems += [
            f"{key}: {domain.name} is not in the hosted zone {zone.name}"
            for key, domain in ((API_DOMAIN, api_domain), (CONSOLE_DOMAIN, console_domain))
            if domain is not None and not zone.covers(domain.name)
        ]

    try:
        providers = parse(context.try_get_context(IDP_CONTEXT), base=ROOT)
    except FederationError as error:
        problems.append(str(error))
        providers = ()

    legacy, omitted = _indexes(context, LEGACY_INDEXES, problems), _indexes(context, OMIT_INDEXES, problems)
    problems += [
        f"{OMIT_INDEXES}, {LEGACY_INDEXES}: {name} is in both; an index is left out or rendered, not both"
        for name in sorted(set(legacy) & set(omitted))
    ]

    prefix = context.try_get_context(AUTH_DOMAIN_PREFIX)
    if prefix is not None and (problem := domain_prefix_problem(prefix)):
        problems.append(problem)

    problems += [
        f"{key}: true or false; got {context.try_get_context(key)!r}"
        for key in (WAF, EMAIL_INTAKE)
        if context.try_get_context(key) not in (None, True, False, "true", "false", "True", "False")
    ]

    if problems:
        raise DeploySettingsError(environment, problems)
    return DeploySettings(
        environment=environment,
        sender=sender,
        ses_identity=ses_identity,
        ops_emails=ops_emails,
        ops_phones=ops_phones,
        sender_given=_text(context, SENDER) is not None,
        sms_origination=origination,
        api_domain=api_domain,
        console_domain=console_domain,
        hosted_zone=zone,
        identity_providers=providers,
        legacy_all_indexes=legacy,
        omitted_indexes=omitted,
    )


def _sender(context: Context, directory: Directory, deploying: bool, problems: list[str]) -> str:
    sender = _text(context, SENDER)
    if sender is None:
        if deploying:
            problems.append(
                f"{SENDER}: required: the address firebell sends email from, e.g. -c {SENDER}=firebell@yourcompany.com"
            )
        return str(directory.notifications.sender)
    if not EMAIL.fullmatch(sender):
        problems.append(f"{SENDER}: an email address, e.g. firebell@yourcompany.com; got {sender!r}")
    elif sender.lower() in {a.address for a in directory.email_intake.addresses}:
        problems.append(f"{SENDER}: {sender} is an email intake address too: mail firebell sends would open incidents")
    elif deploying and _placeholder(sender):
        problems.append(f"{SENDER}: {sender} is in a documentation domain, which reaches nobody")
    return sender


def _ses_identity(context: Context, sender: str, problems: list[str]) -> str:
    identity = _text(context, SES_IDENTITY)
    if identity is None or identity == sender:
        return sender
    sender_domain = sender.rpartition("@")[2].lower()
    identity = identity.lower()
    if "@" in identity:
        problems.append(f"{SES_IDENTITY}: the sender's address ({sender}) or a domain that covers it; got {identity!r}")
    elif not DOMAIN.fullmatch(identity) or not (sender_domain == identity or sender_domain.endswith(f".{identity}")):
        problems.append(
            f"{SES_IDENTITY}: a domain that covers the sender's ({sender_domain}), e.g. {sender_domain}; "
            f"got {identity!r}"
        )
    return identity


def _ops(
    context: Context, directory: Directory, deploying: bool, problems: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    emails, phones = _list(context, OPS_EMAILS, problems), _list(context, OPS_PHONES, problems)
    if emails is None and phones is None:
        if deploying:
            problems.append(
                f"{OPS_EMAILS}: required (or {OPS_PHONES}): who hears about firebell's own failures, reached by SNS "
                f"directly, e.g. -c {OPS_EMAILS}=oncall-admins@yourcompany.com"
            )
        return tuple(directory.ops.emails), tuple(directory.ops.phones)
    emails, phones = emails or (), phones or ()
    for email in emails:
        if not EMAIL.fullmatch(email):
            problems.append(f"{OPS_EMAILS}: {email!r} is not an email address")
        elif deploying and _placeholder(email):
            problems.append(f"{OPS_EMAILS}: {email} is in a documentation domain, which reaches nobody")
    problems += [
        f"{OPS_PHONES}: {phone!r} is not an E.164 number (+ and country code, e.g. +14155550100)"
        for phone in phones
        if not E164.fullmatch(phone)
    ]
    return emails, phones


def _indexes(context: Context, key: str, problems: list[str]) -> tuple[str, ...]:
    names = _list(context, key, problems) or ()
    known = sorted(index.name for table in TOPOLOGY.tables for index in table.indexes)
    problems += [
        f"{key}: {name!r} is not an index (the indexes: {', '.join(known)})" for name in names if name not in known
    ]
    return names


def _given(context: Context) -> dict[str, Any]:
    """Every firebell:* key the context holds (cdk.json, cdk.context.json and -c, as the CLI merged them)."""
    node = getattr(context, "node", context)
    everything = getattr(node, "get_all_context", None)
    return dict(everything()) if callable(everything) else {}


def _text(context: Context, key: str) -> str | None:
    value = context.try_get_context(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(value).strip()


def _list(context: Context, key: str, problems: list[str]) -> tuple[str, ...] | None:
    """A list as cdk.context.json holds it (["a", "b"]), or on the command line: a,b or a JSON list."""
    value = context.try_get_context(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            problems.append(f"{key}: not a valid JSON list ({error})")
            return None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"{key}: a comma-separated list or a JSON list of strings; got {value!r}")
        return None
    return tuple(item.strip() for item in value if item.strip())


def _domain(
    context: Context, name_key: str, certificate_key: str, problems: list[str], region: str | None = None
) -> CustomDomain | None:
    name, certificate = _text(context, name_key), _text(context, certificate_key)
    if name is None and certificate is None:
        return None
    if name is None or certificate is None:
        missing, given = (name_key, certificate_key) if name is None else (certificate_key, name_key)
        problems.append(f"{missing}: required with {given} (a custom domain needs its name and its ACM certificate)")
        return None
    found = len(problems)
    if not DOMAIN.fullmatch(name):
        problems.append(f"{name_key}: a lower-case DNS name such as firebell.yourcompany.com; got {name!r}")
    match = CERTIFICATE_ARN.fullmatch(certificate)
    if match is None:
        problems.append(
            f"{certificate_key}: an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>); "
            f"got {certificate!r}"
        )
    elif region is not None and match.group(1) != region:
        problems.append(
            f"{certificate_key}: CloudFront uses certificates from {region} only; this one is in {match.group(1)}"
        )
    return CustomDomain(name, certificate) if len(problems) == found else None


def _zone(context: Context, problems: list[str]) -> HostedZone | None:
    zone_id, name = _text(context, HOSTED_ZONE_ID), _text(context, HOSTED_ZONE_NAME)
    if zone_id is None and name is None:
        return None
    if zone_id is None or name is None:
        missing, given = (HOSTED_ZONE_ID, HOSTED_ZONE_NAME) if zone_id is None else (HOSTED_ZONE_NAME, HOSTED_ZONE_ID)
        problems.append(f"{missing}: required with {given} (aws route53 list-hosted-zones-by-name shows both)")
        return None
    name = name.rstrip(".")
    found = len(problems)
    if not HOSTED_ZONE.fullmatch(zone_id):
        problems.append(f"{HOSTED_ZONE_ID}: a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ; got {zone_id!r}")
    if not DOMAIN.fullmatch(name):
        problems.append(f"{HOSTED_ZONE_NAME}: the zone's DNS name, e.g. yourcompany.com; got {name!r}")
    return HostedZone(zone_id, name) if len(problems) == found else None


def placeholder_people(directory: Directory) -> list[str]:
    """People whose email is at a documentation domain or whose phone is a fictional 555-01xx number: the demo's."""
    return [
        person.id
        for person in directory.people
        if (person.email and _placeholder(person.email)) or (person.phone and FICTIONAL_PHONE.fullmatch(person.phone))
    ]


def _placeholder(address: str) -> bool:
    domain = address.rpartition("@")[2].lower()
    return any(domain == reserved or domain.endswith(f".{reserved}") for reserved in PLACEHOLDER_DOMAINS)


def deploy_environment(settings: DeploySettings, permissions: Permissions) -> dict[str, str]:
    """What a function is told of the deployer's settings besides its topology variables (firebell/settings.py)."""
    variables = {}
    if settings.sender_given:
        # Replaces config/firebell.yaml's notifications.sender wherever the functions read it.
        variables[SENDER_VARIABLE] = settings.sender
    if settings.sms_origination and permissions.send_sms:
        variables[SMS_ORIGINATION_VARIABLE] = settings.sms_origination
    return variables
