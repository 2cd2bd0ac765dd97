"""People sign in (docs/access.md): a Cognito user pool with the hosted sign-in page, MFA available, optional
federation to the company's identity provider, one group per role, app clients for the console and the CLI,
and the people API: the API function once more, behind a Cognito user pool authorizer.

Machines keep the machine API and IAM; the routes the topology leaves public stay public on both APIs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct, IConstruct

from infra.cdk.federation import IDP_CONTEXT, IdentityProviderSpec, identity_provider, parse
from infra.cdk.rest_api import Guard, rest_api
from infra.people import CLI_SIGN_IN_CALLBACK, ROLES
from infra.topology import ROOT, ApiTrigger

if TYPE_CHECKING:
    from aws_cdk import Stack

DOMAIN_PREFIX_CONTEXT = "firebell:auth-domain-prefix"
# Cognito's rule for hosted UI prefixes, and the words it refuses in one.
DOMAIN_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
RESERVED_IN_PREFIX = ("aws", "amazon", "cognito")
OAUTH_SCOPES = [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE]
# The console's access token may also call Cognito's own user API for the signed-in person: with MFA optional,
# the hosted UI never offers to set it up, so the console does (AssociateSoftwareToken, VerifySoftwareToken,
# SetUserMFAPreference), and changes the password. Email stays unwritable (the clients' write attributes).
CONSOLE_SCOPES = [*OAUTH_SCOPES, cognito.OAuthScope.COGNITO_ADMIN]
PASSWORD_MIN_LENGTH = 12
INVITATION_BODY = (
    "You have been given access to firebell. Your user name is {username} and your temporary password is {####}. "
    "Open the console link your administrator sent you, sign in, choose a new password and, when it is offered, "
    "set up an authenticator app."
)


def domain_prefix(stack: Stack) -> str:
    """The hosted UI's prefix: `-c firebell:auth-domain-prefix=<prefix>`, else `<stack name>-<account id>`
    (prefixes are unique per region across all of AWS, so the account id keeps two accounts apart)."""
    given = stack.node.try_get_context(DOMAIN_PREFIX_CONTEXT)
    if given is None:
        return f"{stack.stack_name.lower()}-{Aws.ACCOUNT_ID}"
    problem = domain_prefix_problem(given)
    if problem:
        raise ValueError(problem)
    return str(given)


def domain_prefix_problem(given: object) -> str | None:
    """What is wrong with a `firebell:auth-domain-prefix` value, if anything (infra/cdk/settings.py asks up front)."""
    if DOMAIN_PREFIX.fullmatch(str(given)) and not any(word in str(given) for word in RESERVED_IN_PREFIX):
        return None
    return (
        f"{DOMAIN_PREFIX_CONTEXT}: 1-63 lowercase letters, digits and '-', not starting or ending with '-', "
        f"without {', '.join(RESERVED_IN_PREFIX)}; got {given!r}"
    )


class People(Construct):
    def __init__(
        self,
        stack: Stack,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        trigger: ApiTrigger,
        api_logging_account: IConstruct | None,
        waf_enabled: bool,
    ) -> None:
        super().__init__(stack, construct_id)
        self._stack = stack
        self.user_pool = self._user_pool()
        self._risk_responses()
        self.groups = {
            role: self.user_pool.add_group(
                f"{''.join(p.capitalize() for p in role.split('_'))}Group", group_name=role, description=description
            )
            for role, description in ROLES.items()
        }
        self.federation: tuple[IdentityProviderSpec, ...] = parse(stack.node.try_get_context(IDP_CONTEXT), base=ROOT)
        self.providers = [identity_provider(self, spec, self.user_pool) for spec in self.federation]
        self.domain = self.user_pool.add_domain(
            "HostedUi", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix(stack))
        )
        self.sign_in_url = self.domain.base_url()
        # Cognito's user API (AssociateSoftwareToken, …), which the console calls with the person's access token.
        self.user_api_url = f"https://cognito-idp.{Aws.REGION}.{Aws.URL_SUFFIX}"
        self.api = self._api(function, trigger, api_logging_account, waf_enabled)
        self.console_client: cognito.UserPoolClient | None = None
        self.cli_client: cognito.UserPoolClient | None = None

    # --- the user pool -----------------------------------------------------------------------------

    def _user_pool(self) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"{self._stack.stack_name}-people",
            # An admin adds people (or they come from the company's IdP): nobody signs themselves up.
            self_sign_up_enabled=False,
            # The email is the user name: it is also what the API maps to a directory person.
            sign_in_aliases=cognito.SignInAliases(email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            # A changed email takes effect only once verified, so no one acts as another directory person meanwhile.
            keep_original=cognito.KeepOriginalAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                # Mutable: a federated sign-in rewrites it from the IdP each time.
                email=cognito.StandardAttribute(required=True, mutable=True),
                fullname=cognito.StandardAttribute(required=False, mutable=True),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=PASSWORD_MIN_LENGTH,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
                password_history_size=5,
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            user_invitation=cognito.UserInvitationConfig(
                email_subject="Your firebell sign-in", email_body=INVITATION_BODY
            ),
            # Plus: threat protection (compromised-credential and risky sign-in checks), about $0.02 a month per
            # active person; an incident tool's accounts can resolve, reassign and edit the directory.
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        NagSuppressions.add_resource_suppressions(
            pool,
            [
                NagPackSuppression(
                    id="AwsSolutions-COG2",
                    reason="MFA is optional by design (issue 9: 'MFA available'): federated people get MFA from "
                    "the company's IdP, and threat protection requires it for high-risk sign-ins "
                    "(the risk configuration); docs/access.md asks every person to set it up",
                )
            ],
        )
        return pool

    def _risk_responses(self) -> None:
        """What threat protection does, explicitly: a password seen in a breach cannot sign in (the person resets
        it); a high-risk sign-in must pass MFA (someone without it set up is stopped), a medium-risk one passes it
        if set up. No notification emails: they would need an SES identity in the pool's region."""

        def action(event: str) -> cognito.CfnUserPoolRiskConfigurationAttachment.AccountTakeoverActionTypeProperty:
            return cognito.CfnUserPoolRiskConfigurationAttachment.AccountTakeoverActionTypeProperty(
                event_action=event, notify=False
            )

        cognito.CfnUserPoolRiskConfigurationAttachment(
            self,
            "RiskConfiguration",
            user_pool_id=self.user_pool.user_pool_id,
            client_id="ALL",
            compromised_credentials_risk_configuration=cognito.CfnUserPoolRiskConfigurationAttachment.CompromisedCredentialsRiskConfigurationTypeProperty(
                actions=cognito.CfnUserPoolRiskConfigurationAttachment.CompromisedCredentialsActionsTypeProperty(
                    event_action="BLOCK"
                ),
                event_filter=["SIGN_IN", "PASSWORD_CHANGE"],
            ),
            account_takeover_risk_configuration=cognito.CfnUserPoolRiskConfigurationAttachment.AccountTakeoverRiskConfigurationTypeProperty(
                actions=cognito.CfnUserPoolRiskConfigurationAttachment.AccountTakeoverActionsTypeProperty(
                    low_action=action("NO_ACTION"),
                    medium_action=action("MFA_IF_CONFIGURED"),
                    high_action=action("MFA_REQUIRED"),
                )
            ),
        )

    # --- app clients -------------------------------------------------------------------------------

    def add_clients(self, console_url: str) -> None:
        """The console's and the CLI's app clients. Made once the console's URL exists (its distribution needs
        the people API and the sign-in URL, so the clients come after it)."""
        self.console_client = self._client(
            "ConsoleClient", "console", callback=f"{console_url}/", logout=f"{console_url}/", scopes=CONSOLE_SCOPES
        )
        self.cli_client = self._client(
            "CliClient", "cli", callback=CLI_SIGN_IN_CALLBACK, logout=None, scopes=OAUTH_SCOPES
        )

    def _client(
        self, construct_id: str, name: str, *, callback: str, logout: str | None, scopes: list[cognito.OAuthScope]
    ) -> cognito.UserPoolClient:
        client = self.user_pool.add_client(
            construct_id,
            user_pool_client_name=f"{self._stack.stack_name}-{name}",
            # A browser page and a command on a laptop cannot keep a secret: authorization code with PKCE (the
            # client sends code_challenge; Cognito checks it for any client without a secret).
            generate_secret=False,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=scopes,
                callback_urls=[callback],
                logout_urls=[logout] if logout else None,
            ),
            supported_identity_providers=[
                cognito.UserPoolClientIdentityProvider.COGNITO,
                *(cognito.UserPoolClientIdentityProvider.custom(spec.name) for spec in self.federation),
            ],
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            read_attributes=cognito.ClientAttributes().with_standard_attributes(
                email=True, email_verified=True, fullname=True
            ),
            # Not the email (the actor comes from it), except that a federated sign-in must be able to write
            # what it maps.
            write_attributes=cognito.ClientAttributes().with_standard_attributes(
                fullname=True, email=bool(self.federation)
            ),
        )
        for provider in self.providers:
            client.node.add_dependency(provider)
        # Sign-in happens on the hosted UI only (where MFA, threat protection and federation apply); the clients
        # may only refresh the tokens it issued. Without this, Cognito would also allow SRP and custom auth.
        cfn = client.node.default_child
        assert isinstance(cfn, cognito.CfnUserPoolClient)
        cfn.explicit_auth_flows = ["ALLOW_REFRESH_TOKEN_AUTH"]
        return client

    # --- the people API ----------------------------------------------------------------------------

    def _api(
        self,
        function: lambda_.IFunction,
        trigger: ApiTrigger,
        api_logging_account: IConstruct | None,
        waf_enabled: bool,
    ) -> apigw.RestApi:
        authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            authorizer_name=f"{self._stack.stack_name}-people",
            # API Gateway checks the ID token (signature, issuer, expiry); the function reads its claims (email,
            # cognito:groups) from requestContext.authorizer.claims.
            cognito_user_pools=[self.user_pool],
        )
        api = rest_api(
            self,
            "",
            rest_api_name=f"{self._stack.stack_name}-people",
            description="People's API (the API function): Cognito ID tokens on every route the topology does not leave public",
            function=function,
            trigger=trigger,
            guard=Guard(
                method_options=apigw.MethodOptions(
                    authorization_type=apigw.AuthorizationType.COGNITO, authorizer=authorizer
                ),
                refuses="the Cognito user pool authorizer refuses requests without a valid ID token",
                # No or a bad token: 401 in the contract's words (docs/access.md), not API Gateway's "Unauthorized".
                responses={apigw.ResponseType.UNAUTHORIZED: ("401", "unauthenticated")},
            ),
            # Regional: the console reaches it through its own CloudFront distribution (/api/*), and an
            # edge-optimized API would put a second CloudFront in the path.
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # API Gateway's CloudWatch role is one per account and region: the machine API sets it.
            cloud_watch_role=False,
            waf_enabled=waf_enabled,
            one_invoke_permission=True,
        )
        if api_logging_account is not None:
            # A stage with logging deploys only once the account's CloudWatch role is set.
            api.deployment_stage.node.add_dependency(api_logging_account)
        return api

    def outputs(self) -> None:
        stack = self._stack
        CfnOutput(
            stack,
            "PeopleApiUrl",
            value=self.api.url,
            description="The people API (Cognito ID tokens); the console calls it as /api",
        )
        CfnOutput(stack, "UserPoolId", value=self.user_pool.user_pool_id, description="aws cognito-idp --user-pool-id")
        CfnOutput(
            stack,
            "HostedUiUrl",
            value=self.sign_in_url,
            description="Cognito's hosted sign-in (/oauth2/authorize, /oauth2/token)",
        )
        assert self.console_client is not None and self.cli_client is not None, "add_clients() first"
        CfnOutput(stack, "ConsoleClientId", value=self.console_client.user_pool_client_id)
        CfnOutput(
            stack,
            "CliClientId",
            value=self.cli_client.user_pool_client_id,
            description=f"The CLI's app client: authorization code with PKCE, redirect to {CLI_SIGN_IN_CALLBACK}",
        )
