"""Optional sign-in through the company's identity provider: `cdk deploy -c firebell:idp=<JSON or a JSON file>`.

The value is one provider or a list of them (docs/access.md, "Federation"):

    {"type": "saml", "name": "Okta", "metadata_url": "https://…/sso/saml/metadata"}
    {"type": "oidc", "name": "Entra", "issuer": "https://login.microsoftonline.com/<tenant>/v2.0",
     "client_id": "…", "client_secret_id": "<Secrets Manager secret name or ARN>"}

Either may add "email_attribute" (the IdP's claim or SAML attribute that holds the email; the defaults are the
usual ones) and "identifiers" (email domains the hosted UI sends to this provider). The OIDC client secret is
never in the context: CloudFormation reads it from Secrets Manager at deploy time (a dynamic reference), so it
is not in cdk.out, cdk.context.json or the template.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import SecretValue
from aws_cdk import aws_cognito as cognito
from constructs import Construct

IDP_CONTEXT = "firebell:idp"
SAML_EMAIL = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
OIDC_EMAIL = "email"
# Cognito's own names for its built-in providers; a custom provider may not take them.
RESERVED_NAMES = {"cognito", "facebook", "google", "loginwithamazon", "signinwithapple"}
# Cognito allows 1-32 characters without spaces; a narrower set keeps the name usable in URLs and shells.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{1,31}")
_COMMON = {"type", "name", "email_attribute", "identifiers"}
_FIELDS = {
    "saml": {"required": {"metadata_url"}, "optional": set()},
    "oidc": {"required": {"issuer", "client_id", "client_secret_id"}, "optional": {"client_secret_field"}},
}


class FederationError(ValueError):
    """The context value is not a provider description we can deploy; the message says what to change."""


@dataclass(frozen=True)
class IdentityProviderSpec:
    type: str  # saml | oidc
    name: str
    email_attribute: str
    identifiers: tuple[str, ...] = ()
    metadata_url: str | None = None
    issuer: str | None = None
    client_id: str | None = None
    client_secret_id: str | None = None
    client_secret_field: str | None = None


def parse(value: Any, *, base: Path | None = None) -> tuple[IdentityProviderSpec, ...]:
    """The context value as given on the command line (a JSON string or a path to a JSON file) or as cdk.json
    holds it (already an object or a list): the providers it describes, checked."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith(("{", "[")):
            path = Path(text) if base is None or Path(text).is_absolute() else base / text
            if not path.is_file():
                raise FederationError(f"{IDP_CONTEXT}: {text!r} is neither JSON nor a file")
            text = path.read_text(encoding="utf-8")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise FederationError(f"{IDP_CONTEXT}: not valid JSON ({error})") from None
    entries = value if isinstance(value, list) else [value]
    specs = tuple(_spec(entry, index) for index, entry in enumerate(entries))
    names = [spec.name.lower() for spec in specs]
    if len(set(names)) != len(names):
        raise FederationError(f"{IDP_CONTEXT}: provider names must differ: {[spec.name for spec in specs]}")
    return specs


def _spec(entry: Any, index: int) -> IdentityProviderSpec:
    where = f"{IDP_CONTEXT}[{index}]"
    if not isinstance(entry, dict):
        raise FederationError(f"{where}: expected an object, got {type(entry).__name__}")
    kind = entry.get("type")
    if kind not in _FIELDS:
        raise FederationError(f"{where}.type: expected 'saml' or 'oidc', got {kind!r}")
    if "client_secret" in entry:
        # A secret in the context would land in cdk.context.json, shell history and the synthesized template.
        raise FederationError(
            f"{where}.client_secret: keep the secret in Secrets Manager and name it with client_secret_id"
        )
    fields = _FIELDS[kind]
    missing = sorted(fields["required"] - set(entry))
    unknown = sorted(set(entry) - _COMMON - fields["required"] - fields["optional"])
    if missing or unknown:
        raise FederationError(
            f"{where}: {kind} needs {sorted(fields['required'])}; missing {missing}, unknown {unknown}"
        )
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name) or name.lower() in RESERVED_NAMES:
        raise FederationError(
            f"{where}.name: 2-32 letters, digits, '.' or '-', not one of Cognito's own ({sorted(RESERVED_NAMES)}); got {name!r}"
        )
    for key in ("metadata_url", "issuer"):
        if key in entry and not str(entry[key]).startswith("https://"):
            raise FederationError(f"{where}.{key}: must be an https:// URL, got {entry[key]!r}")
    identifiers = entry.get("identifiers", [])
    if not isinstance(identifiers, list) or not all(isinstance(i, str) and i for i in identifiers):
        raise FederationError(f"{where}.identifiers: expected a list of email domains")
    return IdentityProviderSpec(
        type=kind,
        name=name,
        email_attribute=entry.get("email_attribute", SAML_EMAIL if kind == "saml" else OIDC_EMAIL),
        identifiers=tuple(identifiers),
        metadata_url=entry.get("metadata_url"),
        issuer=entry.get("issuer"),
        client_id=entry.get("client_id"),
        client_secret_id=entry.get("client_secret_id"),
        client_secret_field=entry.get("client_secret_field"),
    )


def identity_provider(
    scope: Construct, spec: IdentityProviderSpec, user_pool: cognito.IUserPool
) -> cognito.UserPoolIdentityProviderBase:
    """The provider in the user pool, its email mapped to the pool's email (the username, and what the API
    maps to a directory person)."""
    mapping = cognito.AttributeMapping(email=cognito.ProviderAttribute.other(spec.email_attribute))
    construct_id = f"{spec.type.capitalize()}Provider{spec.name.replace('.', '').replace('-', '')}"
    if spec.type == "saml":
        assert spec.metadata_url is not None
        return cognito.UserPoolIdentityProviderSaml(
            scope,
            construct_id,
            user_pool=user_pool,
            name=spec.name,
            metadata=cognito.UserPoolIdentityProviderSamlMetadata.url(spec.metadata_url),
            identifiers=list(spec.identifiers) or None,
            attribute_mapping=mapping,
        )
    assert spec.issuer and spec.client_id and spec.client_secret_id
    # A {{resolve:secretsmanager:…}} dynamic reference: CloudFormation fetches the value when it deploys.
    secret = SecretValue.secrets_manager(spec.client_secret_id, json_field=spec.client_secret_field)
    return cognito.UserPoolIdentityProviderOidc(
        scope,
        construct_id,
        user_pool=user_pool,
        name=spec.name,
        issuer_url=spec.issuer,
        client_id=spec.client_id,
        client_secret=secret.unsafe_unwrap(),  # only the reference: the value never passes through synth
        scopes=["openid", "email", "profile"],
        identifiers=list(spec.identifiers) or None,
        attribute_mapping=mapping,
    )
