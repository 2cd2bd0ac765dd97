"""People sign in with Cognito (infra/cdk/people.py): the user pool's settings, one group per role of
docs/access.md, app clients that only do the authorization-code flow, and the people API, whose every
non-public method has the Cognito authorizer while the machine API keeps IAM.

Given the stack synthesized once (conftest.py), each test reads one part of the template.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import App, Aws, Stack

from infra.cdk.people import DOMAIN_PREFIX_CONTEXT, PASSWORD_MIN_LENGTH, domain_prefix
from infra.people import CLI_SIGN_IN_CALLBACK, ROLES
from infra.topology import ROOT, TOPOLOGY, ApiTrigger

if TYPE_CHECKING:
    from conftest import Synthesized

Resources = dict[str, dict[str, Any]]

(API,) = [f for f in TOPOLOGY.functions if isinstance(f.trigger, ApiTrigger)]
PUBLIC = sorted((route.path, method) for route in API.trigger.public_routes for method in route.methods)


def of_type(resources: Resources, cfn_type: str) -> Resources:
    return {k: r for k, r in resources.items() if r["Type"] == cfn_type}


def method_path(resources: Resources, method: dict[str, Any]) -> str:
    parts = []
    resource_ref = method["Properties"]["ResourceId"]
    while isinstance(resource_ref, dict) and "Ref" in resource_ref:
        resource = resources[resource_ref["Ref"]]["Properties"]
        parts.insert(0, resource["PathPart"])
        resource_ref = resource["ParentId"]
    return "/" + "/".join(parts)


def methods_of(resources: Resources, api_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(path, HTTP method) → properties, for every method of one REST API: walked from the template."""
    return {
        (method_path(resources, m), m["Properties"]["HttpMethod"]): m["Properties"]
        for m in of_type(resources, "AWS::ApiGateway::Method").values()
        if m["Properties"]["RestApiId"] == {"Ref": api_id}
    }


@pytest.fixture(scope="module")
def pool(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.resource(synthesized.stack.people.user_pool)["Properties"]


# --- the user pool ------------------------------------------------------------------------------------------


def test_only_an_admin_or_the_company_idp_adds_people(pool: dict[str, Any]) -> None:
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_the_email_is_the_user_name_whatever_its_case(pool: dict[str, Any]) -> None:
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert pool["AutoVerifiedAttributes"] == ["email"]
    # A changed email counts only once verified: the API maps people by it
    assert pool["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}


def test_mfa_is_available_as_an_authenticator_app_only(pool: dict[str, Any]) -> None:
    assert pool["MfaConfiguration"] == "OPTIONAL"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]


def test_passwords_are_long_and_mixed(pool: dict[str, Any]) -> None:
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == PASSWORD_MIN_LENGTH >= 12
    assert (
        policy["RequireLowercase"]
        and policy["RequireUppercase"]
        and policy["RequireNumbers"]
        and policy["RequireSymbols"]
    )
    assert policy["TemporaryPasswordValidityDays"] <= 7


def test_threat_protection_is_enforced_with_explicit_responses(synthesized: Synthesized, pool: dict[str, Any]) -> None:
    assert pool["UserPoolTier"] == "PLUS"
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    (risk,) = of_type(synthesized.json["Resources"], "AWS::Cognito::UserPoolRiskConfigurationAttachment").values()
    properties = risk["Properties"]
    assert properties["UserPoolId"] == {"Ref": synthesized.logical_id(synthesized.stack.people.user_pool)}
    assert properties["ClientId"] == "ALL"
    assert properties["CompromisedCredentialsRiskConfiguration"]["Actions"] == {"EventAction": "BLOCK"}
    actions = properties["AccountTakeoverRiskConfiguration"]["Actions"]
    assert {level: a["EventAction"] for level, a in actions.items()} == {
        "LowAction": "NO_ACTION",
        "MediumAction": "MFA_IF_CONFIGURED",
        "HighAction": "MFA_REQUIRED",
    }


def test_the_pool_outlives_the_stack(synthesized: Synthesized, pool: dict[str, Any]) -> None:
    resource = synthesized.resource(synthesized.stack.people.user_pool)
    assert pool["DeletionProtection"] == "ACTIVE"
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


# --- groups and the hosted UI ------------------------------------------------------------------------------


def _documented_roles() -> list[str]:
    """The roles table of docs/access.md: the contract the groups follow."""
    section = (ROOT / "docs" / "access.md").read_text(encoding="utf-8").split("## Roles", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(\w+)`", section, flags=re.MULTILINE)


def test_one_group_per_documented_role(synthesized: Synthesized) -> None:
    groups = of_type(synthesized.json["Resources"], "AWS::Cognito::UserPoolGroup").values()
    pool_id = {"Ref": synthesized.logical_id(synthesized.stack.people.user_pool)}
    assert all(g["Properties"]["UserPoolId"] == pool_id for g in groups)
    names = sorted(g["Properties"]["GroupName"] for g in groups)
    assert names == sorted(ROLES) == sorted(_documented_roles())
    assert names == sorted(["viewer", "reporter", "responder", "incident_manager", "admin"])


def test_the_hosted_ui_prefix_defaults_to_the_stack_and_account(synthesized: Synthesized) -> None:
    (domain,) = of_type(synthesized.json["Resources"], "AWS::Cognito::UserPoolDomain").values()
    assert domain["Properties"]["Domain"] == {"Fn::Join": ["", ["firebell-", {"Ref": "AWS::AccountId"}]]}


def _stack(context: dict[str, Any]) -> Stack:
    return Stack(App(context=context), "Firebell")


def test_the_hosted_ui_prefix_comes_from_context() -> None:
    assert domain_prefix(_stack({DOMAIN_PREFIX_CONTEXT: "acme-oncall"})) == "acme-oncall"
    assert domain_prefix(_stack({})) == f"firebell-{Aws.ACCOUNT_ID}"


@pytest.mark.parametrize("prefix", ["Acme", "acme_oncall", "-acme", "acme-", "my-aws-pager", "cognito1", "x" * 64, ""])
def test_a_prefix_cognito_would_refuse_fails_the_synth(prefix: str) -> None:
    with pytest.raises(ValueError, match=DOMAIN_PREFIX_CONTEXT):
        domain_prefix(_stack({DOMAIN_PREFIX_CONTEXT: prefix}))


# --- app clients -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["console_client", "cli_client"])
def test_clients_sign_in_by_authorization_code_only_and_keep_no_secret(synthesized: Synthesized, client: str) -> None:
    properties = synthesized.resource(getattr(synthesized.stack.people, client))["Properties"]
    assert properties["AllowedOAuthFlows"] == ["code"]  # no implicit grant, no client credentials
    assert properties["AllowedOAuthFlowsUserPoolClient"] is True
    assert properties["GenerateSecret"] is False  # a public client: PKCE stands in for the secret
    # The console's access token may also set up MFA with Cognito's user API (the hosted UI does not offer it)
    admin = ["aws.cognito.signin.user.admin"] if client == "console_client" else []
    assert sorted(properties["AllowedOAuthScopes"]) == sorted(["email", "openid", "profile", *admin])
    # Sign-in happens on the hosted UI only: no password (SRP) or custom flow straight against the pool
    assert properties["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]
    assert properties["SupportedIdentityProviders"] == ["COGNITO"]  # without -c firebell:idp (test_federation.py)
    assert properties["PreventUserExistenceErrors"] == "ENABLED"
    assert properties["EnableTokenRevocation"] is True
    # People cannot rewrite the email the API maps them by
    assert "email" not in properties["WriteAttributes"]


def test_the_console_client_returns_to_the_console(synthesized: Synthesized) -> None:
    properties = synthesized.resource(synthesized.stack.people.console_client)["Properties"]
    console = {
        "Fn::Join": [
            "",
            [
                "https://",
                {"Fn::GetAtt": [synthesized.logical_id(synthesized.stack.console.distribution), "DomainName"]},
                "/",
            ],
        ]
    }
    assert properties["CallbackURLs"] == properties["LogoutURLs"] == [console]


def test_the_cli_client_returns_to_localhost(synthesized: Synthesized) -> None:
    properties = synthesized.resource(synthesized.stack.people.cli_client)["Properties"]
    assert properties["CallbackURLs"] == [CLI_SIGN_IN_CALLBACK]
    assert CLI_SIGN_IN_CALLBACK.startswith("http://localhost:")


# --- the people API ----------------------------------------------------------------------------------------


def test_every_non_public_people_route_has_the_cognito_authorizer(
    synthesized: Synthesized, resources: Resources
) -> None:
    api_id = synthesized.logical_id(synthesized.stack.people.api)
    ((authorizer_id, authorizer),) = of_type(resources, "AWS::ApiGateway::Authorizer").items()
    # Given the one authorizer: Cognito, on this API, trusting this stack's user pool, reading the Authorization header
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["Properties"]["RestApiId"] == {"Ref": api_id}
    assert authorizer["Properties"]["ProviderARNs"] == [
        {"Fn::GetAtt": [synthesized.logical_id(synthesized.stack.people.user_pool), "Arn"]}
    ]
    assert authorizer["Properties"]["IdentitySource"] == "method.request.header.Authorization"
    # When walking every method of the people API
    methods = methods_of(resources, api_id)
    guarded = {key: m for key, m in methods.items() if key not in PUBLIC}
    assert {"/", "/{proxy+}"} <= {path for path, _ in guarded}
    # Then each non-public one requires it, and each public one (the topology's) is open, with no authorizer
    for key, method in guarded.items():
        assert (method["AuthorizationType"], method.get("AuthorizerId")) == (
            "COGNITO_USER_POOLS",
            {"Ref": authorizer_id},
        ), key
        assert (
            "AuthorizationScopes" not in method
        )  # no scopes: API Gateway takes the ID token, whose claims carry email and groups
    assert sorted(key for key in methods if key in PUBLIC) == PUBLIC
    for key in PUBLIC:
        assert methods[key]["AuthorizationType"] == "NONE" and "AuthorizerId" not in methods[key], key


def test_both_apis_offer_the_same_routes(synthesized: Synthesized, resources: Resources) -> None:
    machine = methods_of(resources, synthesized.logical_id(synthesized.stack.apis[API.name]))
    people = methods_of(resources, synthesized.logical_id(synthesized.stack.people.api))
    assert set(machine) == set(people)
    # And the machine API keeps IAM on every one the topology does not leave public
    assert {key: m["AuthorizationType"] for key, m in machine.items() if key not in PUBLIC} == {
        key: "AWS_IAM" for key in machine if key not in PUBLIC
    }


def test_no_or_a_bad_token_is_refused_in_the_contract_s_words(synthesized: Synthesized, resources: Resources) -> None:
    api_id = synthesized.logical_id(synthesized.stack.people.api)
    (response,) = [
        r["Properties"]
        for r in of_type(resources, "AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["RestApiId"] == {"Ref": api_id} and r["Properties"]["ResponseType"] == "UNAUTHORIZED"
    ]
    assert response["StatusCode"] == "401"
    assert (
        response["ResponseTemplates"]["application/json"]
        == '{"error":"unauthenticated","message":$context.error.messageString}'
    )


def test_the_people_api_is_regional_and_uses_the_account_s_logging_role(
    synthesized: Synthesized, resources: Resources
) -> None:
    api = synthesized.resource(synthesized.stack.people.api)
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    # One CloudWatch role per account and region (the machine API's); the people API's stage waits for it
    (account_id,) = of_type(resources, "AWS::ApiGateway::Account")
    stage = synthesized.resource(synthesized.stack.people.api.deployment_stage)
    assert account_id in stage["DependsOn"]


def test_the_people_api_may_invoke_the_function_through_one_permission(
    synthesized: Synthesized, resources: Resources
) -> None:
    api_id = synthesized.logical_id(synthesized.stack.people.api)
    permissions = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if {"Ref": api_id} in p["Properties"]["SourceArn"].get("Fn::Join", ["", []])[1]
    ]
    assert len(permissions) == 1
    (permission,) = permissions
    assert permission["FunctionName"] == {
        "Fn::GetAtt": [synthesized.logical_id(synthesized.stack.functions[API.name]), "Arn"]
    }
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["SourceArn"]["Fn::Join"][1][-1] == "/*/*/*"  # this API's methods only


def test_outputs_name_the_pool_the_clients_and_the_urls(synthesized: Synthesized) -> None:
    outputs = synthesized.json["Outputs"]
    people = synthesized.stack.people
    assert outputs["UserPoolId"]["Value"] == {"Ref": synthesized.logical_id(people.user_pool)}
    assert outputs["ConsoleClientId"]["Value"] == {"Ref": synthesized.logical_id(people.console_client)}
    assert outputs["CliClientId"]["Value"] == {"Ref": synthesized.logical_id(people.cli_client)}
    domain_id = synthesized.logical_id(people.domain)
    assert outputs["HostedUiUrl"]["Value"] == {
        "Fn::Join": ["", ["https://", {"Ref": domain_id}, ".auth.", {"Ref": "AWS::Region"}, ".amazoncognito.com"]]
    }
    assert {"Ref": synthesized.logical_id(people.api)} in outputs["PeopleApiUrl"]["Value"]["Fn::Join"][1]
