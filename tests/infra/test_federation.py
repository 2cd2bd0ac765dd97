"""Sign-in through the company's identity provider, from CDK context (infra/cdk/federation.py): what the value
may say, and the stack synthesized with and without it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from infra.cdk.federation import IDP_CONTEXT, OIDC_EMAIL, SAML_EMAIL, FederationError, parse

if TYPE_CHECKING:
    from conftest import Synthesized

SAML = {"type": "saml", "name": "Okta", "metadata_url": "https://acme.okta.com/app/exk1/sso/saml/metadata"}
OIDC = {
    "type": "oidc",
    "name": "Entra",
    "issuer": "https://login.microsoftonline.com/0000-tenant/v2.0",
    "client_id": "11111111-2222-3333-4444-555555555555",
    "client_secret_id": "firebell/entra-client",
    "client_secret_field": "secret",
    "identifiers": ["acme.example"],
}


# --- the context value ---------------------------------------------------------------------------------------


def test_no_value_means_no_provider() -> None:
    assert parse(None) == parse("") == ()


def test_one_provider_as_json_with_the_usual_email_claims() -> None:
    (saml,) = parse(json.dumps(SAML))
    assert (saml.type, saml.name, saml.metadata_url, saml.email_attribute) == (
        "saml",
        "Okta",
        SAML["metadata_url"],
        SAML_EMAIL,
    )
    (oidc,) = parse(OIDC)  # as cdk.json would hold it: already an object
    assert (oidc.issuer, oidc.client_id, oidc.client_secret_id, oidc.client_secret_field) == (
        OIDC["issuer"],
        OIDC["client_id"],
        "firebell/entra-client",
        "secret",
    )
    assert oidc.email_attribute == OIDC_EMAIL and oidc.identifiers == ("acme.example",)


def test_a_list_from_a_file(tmp_path: Any) -> None:
    path = tmp_path / "idp.json"
    path.write_text(json.dumps([SAML, {**OIDC, "email_attribute": "upn"}]), encoding="utf-8")
    assert [(p.name, p.email_attribute) for p in parse(str(path))] == [("Okta", SAML_EMAIL), ("Entra", "upn")]
    # A relative path is read from the base (the repository, where cdk runs)
    assert [p.name for p in parse("idp.json", base=tmp_path)] == ["Okta", "Entra"]


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("nope.json", "neither JSON nor a file"),
        ("{not json", "not valid JSON"),
        ({"type": "ldap", "name": "Corp"}, "expected 'saml' or 'oidc'"),
        ({"type": "saml", "name": "Okta"}, "missing ['metadata_url']"),
        ({**SAML, "metadata": "x"}, "unknown ['metadata']"),
        ({**OIDC, "client_secret": "hunter2"}, "keep the secret in Secrets Manager"),
        ({**SAML, "name": "Google"}, "not one of Cognito's own"),
        ({**SAML, "name": "my idp"}, ".name"),
        ({**OIDC, "issuer": "http://login.example"}, "must be an https:// URL"),
        ({**SAML, "identifiers": "acme.example"}, "a list of email domains"),
        ([SAML, {**OIDC, "name": "okta"}], "names must differ"),
        (["Okta"], "expected an object"),
    ],
)
def test_a_value_we_cannot_deploy_fails_the_synth_saying_why(value: Any, complaint: str) -> None:
    with pytest.raises(FederationError, match=IDP_CONTEXT) as raised:
        parse(value if isinstance(value, str) else json.dumps(value))
    assert complaint in str(raised.value)
    assert "hunter2" not in str(raised.value)


# --- the stack with and without it ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def federated() -> Iterator[Synthesized]:
    """The stack as `cdk synth -c firebell:idp='[<SAML>, <OIDC>]'` makes it (a second synthesis: one per module)."""
    from conftest import synthesize

    yield synthesize({IDP_CONTEXT: json.dumps([SAML, OIDC])})


def providers(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["ProviderName"]: r
        for r in synthesized.json["Resources"].values()
        if r["Type"] == "AWS::Cognito::UserPoolIdentityProvider"
    }


def clients(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [
        synthesized.resource(c) for c in (synthesized.stack.people.console_client, synthesized.stack.people.cli_client)
    ]


def test_without_the_context_people_sign_in_with_the_pool_only(synthesized: Synthesized) -> None:
    assert providers(synthesized) == {}
    assert [c["Properties"]["SupportedIdentityProviders"] for c in clients(synthesized)] == [["COGNITO"], ["COGNITO"]]


def test_a_saml_provider_reads_its_metadata_url_and_maps_the_email(federated: Synthesized) -> None:
    saml = providers(federated)["Okta"]["Properties"]
    assert saml["ProviderType"] == "SAML"
    assert saml["ProviderDetails"]["MetadataURL"] == SAML["metadata_url"]
    assert saml["AttributeMapping"] == {"email": SAML_EMAIL}
    assert saml["UserPoolId"] == {"Ref": federated.logical_id(federated.stack.people.user_pool)}


def test_an_oidc_provider_reads_its_secret_from_secrets_manager_at_deploy_time(federated: Synthesized) -> None:
    oidc = providers(federated)["Entra"]["Properties"]
    details = oidc["ProviderDetails"]
    assert oidc["ProviderType"] == "OIDC"
    assert (details["oidc_issuer"], details["client_id"]) == (OIDC["issuer"], OIDC["client_id"])
    # A dynamic reference CloudFormation resolves when it deploys: the secret is never in the template
    assert details["client_secret"] == "{{resolve:secretsmanager:firebell/entra-client:SecretString:secret::}}"
    assert set(details["authorize_scopes"].split()) == {"openid", "email", "profile"}
    assert oidc["AttributeMapping"] == {"email": OIDC_EMAIL}
    assert oidc["IdpIdentifiers"] == ["acme.example"]


def test_the_clients_offer_the_providers_and_may_write_what_they_map(federated: Synthesized) -> None:
    ids = {
        name: next(k for k, r in federated.json["Resources"].items() if r is resource)
        for name, resource in providers(federated).items()
    }
    for client in clients(federated):
        assert client["Properties"]["SupportedIdentityProviders"] == ["COGNITO", "Okta", "Entra"]
        # Created after the providers (Cognito refuses a client naming a provider it does not have yet)
        assert set(ids.values()) <= set(client["DependsOn"])
        assert "email" in client["Properties"]["WriteAttributes"]


def test_federation_adds_no_cdk_nag_finding(federated: Synthesized) -> None:
    assert federated.nag_errors == [] and federated.nag_warnings == []
