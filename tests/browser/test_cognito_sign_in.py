"""The console's Cognito sign-in, as deployed: config.json names the hosted UI; the console leaves for it with the
authorization-code grant and PKCE, trades the code for tokens, and calls the API with the ID token as Bearer.

Cognito itself is played by the test (Playwright answers the hosted UI's and the people API's requests); the
console's files are the local runtime's, behind the Content-Security-Policy CloudFront sends (connect-src: itself
and the hosted UI's origin), with the API under /api as the distribution routes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import struct
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from playwright.sync_api import Route, expect

from infra.local.demo import local_aws_client
from infra.people import console_content_security_policy
from tests.browser.conftest import screenshot
from tests.e2e.conftest import RunningPipeline

HOSTED_UI = "https://firebell-test.auth.us-east-1.amazoncognito.com"
CLIENT_ID = "console-client-id"
USER_API = "https://cognito-idp.us-east-1.amazonaws.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(email: str) -> str:
    header = b64url(json.dumps({"alg": "RS256", "kid": "test"}).encode())
    claims = b64url(
        json.dumps({"email": email, "token_use": "id", "exp": int(time.time()) + 3600, "aud": CLIENT_ID}).encode()
    )
    return f"{header}.{claims}.signature"


def send_back(route: Route, url: str) -> None:
    """The hosted UI's page after the person signed in: it sends the browser on (a fresh navigation, so the console's
    own answer, with its headers, is what loads; a 302 answered here would be followed without them)."""
    route.fulfill(content_type="text/html", body=f'<meta http-equiv="refresh" content="0;url={url}">')


def hosted_ui_signs_in(route: Route) -> dict[str, str]:
    """The hosted UI's authorize page once the person signed in: back to the redirect URI with a code and the
    state it was given. Answers the query it was asked with."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
    send_back(route, f"{query['redirect_uri']}?{urlencode({'code': 'the-code', 'state': query['state']})}")
    return query


def deployed_policy(*origins: str):
    """Serves the console's page with CloudFront's Content-Security-Policy (infra/people.py): fetches to itself
    and the sign-in services the stack names (the hosted UI; Cognito's user API)."""

    def console_page(route: Route) -> None:
        response = route.fetch()
        route.fulfill(
            response=response,
            headers={**response.headers, "content-security-policy": console_content_security_policy(*origins)},
        )

    return console_page


def test_cognito_sign_in_uses_the_code_grant_with_pkce_and_sends_the_id_token_as_bearer(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    console = pipeline.api_url
    token = id_token("grace@example.com")
    seen: dict[str, Any] = {"api_authorizations": []}
    page = open_page()

    def config(route: Route) -> None:
        # As infra/cdk/stack.py writes it (api_url: CloudFront sends /api/* to the people API).
        route.fulfill(
            json={
                "auth": "cognito",
                "region": "us-east-1",
                "user_pool_id": "us-east-1_test",
                "sign_in_url": HOSTED_UI,
                "client_id": CLIENT_ID,
                "redirect_uri": f"{console}/",
                "logout_uri": f"{console}/",
                "scopes": ["openid", "email", "profile"],
                "identity_providers": [],
                "api_url": "/api",
                "cli_client_id": "cli-client-id",
                "cli_redirect_uri": "http://localhost:8765/callback",
            }
        )

    def authorize(route: Route) -> None:
        seen["authorize"] = hosted_ui_signs_in(route)

    def token_endpoint(route: Route) -> None:
        form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        seen["token"] = form
        cors = {"Access-Control-Allow-Origin": console}
        if form.get("grant_type") != "authorization_code" or form.get("code") != "the-code":
            route.fulfill(status=400, json={"error": "invalid_grant"}, headers=cors)
            return
        route.fulfill(
            json={
                "id_token": token,
                "access_token": "access",
                "refresh_token": "refresh",
                "expires_in": 3600,
                "token_type": "Bearer",
            },
            headers=cors,
        )

    def people_api(route: Route) -> None:
        seen["api_authorizations"].append(route.request.headers.get("authorization"))
        path = urlsplit(route.request.url).path
        if path == "/api/auth/me":
            route.fulfill(json={"person": "grace", "name": "Grace Ops", "roles": ["viewer"], "kind": "person"})
        elif path == "/api/incidents":
            route.fulfill(json={"items": [], "cursor": None})
        elif path == "/api/directory":
            route.fulfill(
                json={
                    "directory": {"people": [], "teams": [], "services": [], "schedules": [], "escalation_policies": []}
                }
            )
        else:
            route.fulfill(status=404, json={"error": "route_not_found", "message": f"no route for GET {path}"})

    def logout(route: Route) -> None:
        seen["logout"] = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        send_back(route, seen["logout"]["logout_uri"])

    page.route(lambda url: url.startswith(console) and urlsplit(url).path == "/", deployed_policy(HOSTED_UI))
    page.route(f"{console}/config.json", config)
    page.route(f"{HOSTED_UI}/oauth2/authorize?*", authorize)
    page.route(f"{HOSTED_UI}/oauth2/token", token_endpoint)
    page.route(f"{HOSTED_UI}/logout?*", logout)
    page.route(f"{console}/api/**", people_api)

    # Given the deployed console, signed out
    page.goto(f"{console}/")
    expect(page.get_by_role("heading", name="Sign in to firebell")).to_be_visible(timeout=15_000)
    screenshot(page, "sign-in-cognito")

    # When the person signs in through the hosted UI
    page.get_by_role("button", name="Sign in").click()

    # Then the console is theirs, and the code is gone from the address bar
    expect(page.get_by_text("Signed in as")).to_contain_text("Grace Ops", timeout=15_000)
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
    assert "code=" not in page.url and "state=" not in page.url
    # And the hosted UI was asked for a code with PKCE (S256) for this app client and redirect
    authorize_query = seen["authorize"]
    assert {
        k: authorize_query[k] for k in ("response_type", "client_id", "redirect_uri", "code_challenge_method", "scope")
    } == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": f"{console}/",
        "code_challenge_method": "S256",
        "scope": "openid email profile",
    }
    # And the code was traded with the verifier whose SHA-256 is the challenge
    verifier = seen["token"]["code_verifier"]
    assert (
        len(verifier) >= 43 and b64url(hashlib.sha256(verifier.encode()).digest()) == authorize_query["code_challenge"]
    )
    assert seen["token"]["redirect_uri"] == f"{console}/" and seen["token"]["client_id"] == CLIENT_ID
    # And every API call carried the ID token
    assert seen["api_authorizations"] and set(seen["api_authorizations"]) == {f"Bearer {token}"}

    # When they sign out
    page.get_by_role("button", name="Sign out").click()

    # Then the hosted UI signs them out too, and the console asks for a sign-in again
    expect(page.get_by_role("heading", name="Sign in to firebell")).to_be_visible(timeout=15_000)
    assert seen["logout"] == {"client_id": CLIENT_ID, "logout_uri": f"{console}/"}


def test_a_hosted_ui_refusal_is_shown_in_its_own_words(pipeline: RunningPipeline, open_page: Any) -> None:
    console = pipeline.api_url
    page = open_page()
    page.route(
        f"{console}/config.json",
        lambda route: route.fulfill(
            json={
                "api": "/api",
                "auth": "cognito",
                "sign_in_url": HOSTED_UI,
                "client_id": CLIENT_ID,
                "redirect_uri": f"{console}/",
            }
        ),
    )

    # When the hosted UI sends the person back with an error (a disabled user, a federation failure, …)
    page.goto(f"{console}/?{urlencode({'error': 'access_denied', 'error_description': 'User is disabled.'})}")

    # Then the sign-in page says so, as Cognito worded it
    expect(page.get_by_role("alert")).to_contain_text("User is disabled.", timeout=15_000)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def totp(secret: str, at: float | None = None) -> str:
    """RFC 6238's code for a base32 key (what an authenticator app shows): HMAC-SHA1 over the 30 s step."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int((at or time.time()) // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def test_a_person_sets_up_an_authenticator_app_through_cognitos_user_api(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    """Cognito's user API is moto's (the runtime's AWS endpoint), with a user and tokens it issued: the calls the
    console makes, and their order, are the ones Cognito answers."""
    console = pipeline.api_url
    cognito = local_aws_client("cognito-idp", pipeline.aws_url)
    pool = cognito.create_user_pool(PoolName=f"people-{uuid.uuid4().hex[:6]}", MfaConfiguration="OPTIONAL")["UserPool"][
        "Id"
    ]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="console", ExplicitAuthFlows=["ADMIN_NO_SRP_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(
        UserPoolId=pool,
        Username="grace@example.com",
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "grace@example.com"}],
    )
    cognito.admin_set_user_password(
        UserPoolId=pool, Username="grace@example.com", Password="Correct-horse-9", Permanent=True
    )
    issued = cognito.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client,
        AuthFlow="ADMIN_NO_SRP_AUTH",
        AuthParameters={"USERNAME": "grace@example.com", "PASSWORD": "Correct-horse-9"},
    )["AuthenticationResult"]
    calls: list[str] = []
    page = open_page()

    def config(route: Route) -> None:
        route.fulfill(
            json={
                "auth": "cognito",
                "region": "us-east-1",
                "sign_in_url": HOSTED_UI,
                "client_id": CLIENT_ID,
                "redirect_uri": f"{console}/",
                "api_url": "/api",
                "user_api_url": USER_API,
            }
        )

    def token_endpoint(route: Route) -> None:
        route.fulfill(
            json={
                "id_token": id_token("grace@example.com"),
                "access_token": issued["AccessToken"],
                "refresh_token": "refresh",
                "expires_in": 3600,
                "token_type": "Bearer",
            },
            headers={"Access-Control-Allow-Origin": console},
        )

    def user_api(route: Route) -> None:
        cors = {
            "Access-Control-Allow-Origin": console,
            "Access-Control-Allow-Headers": "content-type, x-amz-target",
            "Access-Control-Allow-Methods": "POST",
        }
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers=cors)
            return
        calls.append(route.request.headers["x-amz-target"].split(".")[-1])
        answer = route.fetch(url=f"{pipeline.aws_url}/")  # moto answers as Cognito would
        route.fulfill(response=answer, headers={**answer.headers, **cors})

    def people_api(route: Route) -> None:
        path = urlsplit(route.request.url).path
        if path == "/api/auth/me":
            route.fulfill(json={"person": "grace", "name": "Grace Ops", "roles": ["viewer"], "kind": "person"})
        else:
            route.fulfill(json={"items": [], "cursor": None, "directory": {"people": []}})

    page.route(lambda url: url.startswith(console) and urlsplit(url).path == "/", deployed_policy(HOSTED_UI, USER_API))
    page.route(f"{console}/config.json", config)
    page.route(f"{HOSTED_UI}/oauth2/authorize?*", hosted_ui_signs_in)
    page.route(f"{HOSTED_UI}/oauth2/token", token_endpoint)
    page.route(f"{USER_API}/", user_api)
    page.route(f"{console}/api/**", people_api)
    page.goto(f"{console}/")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_contain_text("Grace Ops", timeout=15_000)

    # When she opens her account, two-step sign-in is off, and she sets up an authenticator app
    page.get_by_role("link", name="Your account").click()
    page.get_by_role("button", name="Set up an authenticator app").click()
    key = page.locator("#mfa-key")
    # (moto's key is a fixed lowercase word; Cognito's is base32: both are shown in groups of four to type)
    expect(key).to_have_text(re.compile(r"^\w{4}( \w{1,4})+$"), timeout=15_000)
    link = page.get_by_role("link", name="open it in your authenticator app").get_attribute("href")
    assert link.startswith("otpauth://totp/firebell%3Agrace%40example.com?secret=") and "issuer=firebell" in link
    screenshot(page, "account-mfa")
    page.get_by_label("Code from the app").fill(totp(key.inner_text().replace(" ", "").upper()))
    page.get_by_label("Name of this device (optional)").fill("work phone")
    page.get_by_role("button", name="Turn on two-step sign-in").click()

    # Then it is on, in Cognito: TOTP is her preferred second factor
    expect(page.get_by_text("On: every sign-in asks for the code")).to_be_visible(timeout=15_000)
    user = cognito.admin_get_user(UserPoolId=pool, Username="grace@example.com")
    assert (user.get("UserMFASettingList"), user.get("PreferredMfaSetting")) == (
        ["SOFTWARE_TOKEN_MFA"],
        "SOFTWARE_TOKEN_MFA",
    )
    assert calls == ["GetUser", "AssociateSoftwareToken", "VerifySoftwareToken", "SetUserMFAPreference", "GetUser"]

    # And she can turn it off again
    page.get_by_role("button", name="Turn off two-step sign-in").click()
    expect(page.get_by_role("button", name="Set up an authenticator app")).to_be_visible(timeout=15_000)
    assert not cognito.admin_get_user(UserPoolId=pool, Username="grace@example.com").get("UserMFASettingList")
