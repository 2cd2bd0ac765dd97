"""The deployer's settings (infra/cdk/settings.py): what the context may say, what a deployment must say, and the
one message that lists every problem; `cdk synth` through the app's entry point stops with it, not a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from firebell.config import load_config
from firebell.domain.directory import Directory
from infra.cdk import settings as s
from infra.cdk.settings import DeploySettingsError, read
from infra.topology import CONFIG_DIR, ROOT

PROD = {
    s.ENV: "prod",
    s.SENDER: "firebell@acme.io",
    s.OPS_EMAILS: "sre@acme.io",
}
API_CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
CONSOLE_CERT = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-666666666666"


class Context:
    """What the CDK app's node offers: one key at a time, and all of them."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def try_get_context(self, key: str) -> Any:
        return self.values.get(key)

    def get_all_context(self) -> dict[str, Any]:
        return dict(self.values)


def problems(values: dict[str, Any]) -> list[str]:
    with pytest.raises(DeploySettingsError) as refused:
        read(Context(values))
    return refused.value.problems


def test_no_context_is_the_demo_with_config_s_example_values() -> None:
    settings = read(Context({}))
    assert settings.environment == "demo"
    assert (settings.sender, settings.ses_identity, settings.sender_given) == (
        "firebell@example.com",
        "firebell@example.com",
        False,
    )
    assert settings.ops_emails == ("ops@example.com",) and settings.ops_phones == ("+15550100009",)
    assert settings.api_domain is settings.console_domain is settings.hosted_zone is settings.sms_origination is None


def test_a_deployment_without_its_settings_is_told_everything_it_lacks_at_once() -> None:
    found = problems({s.ENV: "prod"})
    assert len(found) == 2, found
    assert found[0].startswith(f"{s.SENDER}: required: the address firebell sends email from")
    assert found[1].startswith(f"{s.OPS_EMAILS}: required (or {s.OPS_PHONES})")
    message = str(DeploySettingsError("prod", found))
    assert "2 setting(s) to fix" in message and "-c key=value" in message and "docs/deploy.md#configuration" in message


def test_a_deployment_with_its_settings_sends_from_them() -> None:
    settings = read(Context({**PROD, s.OPS_PHONES: "+14155550100, +14155550101"}))
    assert (settings.sender, settings.sender_given, settings.ses_identity_is_domain) == (
        "firebell@acme.io",
        True,
        False,
    )
    assert settings.ops_emails == ("sre@acme.io",) and settings.ops_phones == ("+14155550100", "+14155550101")


def test_ops_contacts_may_be_lists_as_cdk_context_json_holds_them_or_json_on_the_command_line() -> None:
    assert read(Context({**PROD, s.OPS_EMAILS: ["a@acme.io", "b@acme.io"]})).ops_emails == ("a@acme.io", "b@acme.io")
    assert read(Context({**PROD, s.OPS_EMAILS: '["a@acme.io"]'})).ops_emails == ("a@acme.io",)
    # Phones alone reach someone too
    settings = read(Context({s.ENV: "prod", s.SENDER: "firebell@acme.io", s.OPS_PHONES: "+14155550100"}))
    assert (settings.ops_emails, settings.ops_phones) == ((), ("+14155550100",))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({s.SENDER: "firebell@example.com"}, f"{s.SENDER}: firebell@example.com is in a documentation domain"),
        ({s.OPS_EMAILS: "ops@mail.example.org"}, f"{s.OPS_EMAILS}: ops@mail.example.org is in a documentation domain"),
        ({s.SENDER: "firebell"}, f"{s.SENDER}: an email address"),
        ({s.SENDER: "incidents@example.com", s.ENV: "demo"}, f"{s.SENDER}: incidents@example.com is an email intake"),
        ({s.OPS_EMAILS: "sre@acme.io,nobody"}, f"{s.OPS_EMAILS}: 'nobody' is not an email address"),
        ({s.OPS_PHONES: "0155 1234"}, f"{s.OPS_PHONES}: '0155 1234' is not an E.164 number"),
        ({s.OPS_EMAILS: '["a@acme.io"'}, f"{s.OPS_EMAILS}: not a valid JSON list"),
        ({s.SES_IDENTITY: "other.io"}, f"{s.SES_IDENTITY}: a domain that covers the sender's (acme.io)"),
        ({s.SES_IDENTITY: "someone@acme.io"}, f"{s.SES_IDENTITY}: the sender's address"),
        ({s.SMS_ORIGINATION: "+1 415"}, f"{s.SMS_ORIGINATION}: an origination number in E.164"),
        ({s.SMS_ORIGINATION: "FireBellPager1"}, f"{s.SMS_ORIGINATION}: an origination number in E.164"),
        ({s.API_DOMAIN: "api.acme.io"}, f"{s.API_CERTIFICATE}: required with {s.API_DOMAIN}"),
        ({s.CONSOLE_CERTIFICATE: CONSOLE_CERT}, f"{s.CONSOLE_DOMAIN}: required with {s.CONSOLE_CERTIFICATE}"),
        ({s.API_DOMAIN: "API.acme.io", s.API_CERTIFICATE: API_CERT}, f"{s.API_DOMAIN}: a lower-case DNS name"),
        ({s.API_DOMAIN: "api.acme.io", s.API_CERTIFICATE: "acme-cert"}, f"{s.API_CERTIFICATE}: an ACM certificate ARN"),
        (
            {s.CONSOLE_DOMAIN: "firebell.acme.io", s.CONSOLE_CERTIFICATE: API_CERT},
            f"{s.CONSOLE_CERTIFICATE}: CloudFront uses certificates from us-east-1 only; this one is in eu-west-1",
        ),
        (
            {
                s.API_DOMAIN: "api.acme.io",
                s.API_CERTIFICATE: API_CERT,
                s.HOSTED_ZONE_ID: "Z0123456789ABCDEFGHIJ",
                s.HOSTED_ZONE_NAME: "firebell.acme.io",
            },
            f"{s.API_DOMAIN}: api.acme.io is not in the hosted zone firebell.acme.io",
        ),
        ({s.HOSTED_ZONE_NAME: "acme.io"}, f"{s.HOSTED_ZONE_ID}: required with {s.HOSTED_ZONE_NAME}"),
        ({s.HOSTED_ZONE_ID: "acme", s.HOSTED_ZONE_NAME: "acme.io"}, f"{s.HOSTED_ZONE_ID}: a Route 53 hosted zone id"),
        ({"firebell:sendr": "firebell@acme.io"}, "firebell:sendr: not a firebell setting"),
        (
            {s.OMIT_INDEXES: "by-status,by-colour"},
            f"{s.OMIT_INDEXES}: 'by-colour' is not an index (the indexes: by-outbox",
        ),
        (
            {s.OMIT_INDEXES: "by-status", s.LEGACY_INDEXES: "by-status,by-outbox"},
            f"{s.OMIT_INDEXES}, {s.LEGACY_INDEXES}: by-status is in both",
        ),
        ({s.ENV: "production"}, f"{s.ENV}: 'demo'"),
        ({s.WAF: "yes"}, f"{s.WAF}: true or false; got 'yes'"),
        ({s.IDP_CONTEXT: '{"type": "ldap"}'}, "firebell:idp[0].type: expected 'saml' or 'oidc'"),
        ({s.AUTH_DOMAIN_PREFIX: "AWS-login"}, f"{s.AUTH_DOMAIN_PREFIX}: 1-63 lowercase letters"),
    ],
)
def test_a_wrong_value_is_named_with_what_it_should_be(values: dict[str, Any], expected: str) -> None:
    found = problems({**PROD, **values})
    assert any(p.startswith(expected) for p in found), found


def test_custom_domains_a_zone_and_a_domain_identity() -> None:
    settings = read(
        Context(
            {
                **PROD,
                s.SENDER: "pager@firebell.acme.io",
                s.SES_IDENTITY: "acme.io",
                s.SMS_ORIGINATION: "FireBell",
                s.API_DOMAIN: "api.firebell.acme.io",
                s.API_CERTIFICATE: API_CERT,
                s.CONSOLE_DOMAIN: "firebell.acme.io",
                s.CONSOLE_CERTIFICATE: CONSOLE_CERT,
                s.HOSTED_ZONE_ID: "Z0123456789ABCDEFGHIJ",
                s.HOSTED_ZONE_NAME: "acme.io.",
            }
        )
    )
    assert (settings.ses_identity, settings.ses_identity_is_domain, settings.sms_origination) == (
        "acme.io",
        True,
        "FireBell",
    )
    assert settings.api_domain is not None and settings.api_domain.url == "https://api.firebell.acme.io"
    assert settings.console_domain is not None and settings.console_domain.certificate_arn == CONSOLE_CERT
    assert settings.hosted_zone == s.HostedZone("Z0123456789ABCDEFGHIJ", "acme.io")  # the trailing dot dropped


def test_the_app_stops_with_the_message_and_no_traceback(tmp_path: Any) -> None:
    # Given `cdk synth -c firebell:env=prod -c firebell:waf=maybe`: the CLI hands the app its context in CDK_CONTEXT_JSON
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({s.ENV: "prod", s.WAF: "maybe"}),
        "CDK_OUTDIR": str(tmp_path),
    }
    finished = subprocess.run(
        [sys.executable, "-m", "infra.cdk.app"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it exits 2 with every problem on stderr, and writes no template
    assert finished.returncode == 2, finished.stderr
    assert "Traceback" not in finished.stderr
    for key in (s.SENDER, s.OPS_EMAILS, s.WAF):
        assert f"  - {key}:" in finished.stderr
    assert not list(tmp_path.glob("*.template.json"))


def test_credentials_without_firebell_env_are_refused_and_an_explicit_demo_is_not() -> None:
    # Given a bare `cdk deploy` (an upgrade run without the first deploy's context): the CLI resolved an account
    with pytest.raises(DeploySettingsError) as refused:
        read(Context({}), account="123456789012")
    # Then it stops, rather than deploying the demo's sender over the deployment's
    assert f"{s.ENV}: not given, and the CDK CLI has credentials for account 123456789012" in str(refused.value)
    assert read(Context({s.ENV: "demo"}), account="123456789012").environment == "demo"
    assert read(Context(PROD), account="123456789012").environment == "prod"
    assert read(Context({})).environment == "demo"  # make synth without credentials, as ever


def test_the_demo_s_people_are_the_ones_that_reach_nobody() -> None:
    shipped_directory: Directory = load_config(CONFIG_DIR).directory
    assert s.placeholder_people(shipped_directory) == [person.id for person in shipped_directory.people]
    real = shipped_directory.model_copy(
        update={
            "people": [
                p.model_copy(update={"email": "ana@acme.io", "phone": "+4930901820"}) for p in shipped_directory.people
            ]
        }
    )
    assert s.placeholder_people(real) == []
