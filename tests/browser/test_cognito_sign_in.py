"""The console's Cognito sign-in, as deployed: config.json names the hosted UI; the console leaves for it with the
authorization-code grant and PKCE, trades the code for tokens, and calls the API with the ID token as Bearer.

Cognito itself is played by the test (Playwright answers the hosted UI's and the people API's requests); the
console's files are the local runtime's, behind the Content-Security-Policy CloudFront sends (connect-src: itself
and the hosted UI's origin), with the API under /api as the distribution routes it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from playwright.sync_api import Route, expect

from infra.people import console_content_security_policy
from tests.browser.conftest import screenshot
from tests.e2e.conftest import RunningPipeline

HOSTED_UI = "https://firebell-test.auth.us-east-1.amazoncognito.com"
CLIENT_ID = "console-client-id"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(email: str) -> str:
    header = b64url(json.dumps({"alg": "RS256", "kid": "test"}).encode())
    claims = b64url(json.dumps({"email": email, "token_use": "id", "exp": int(time.time()) + 3600, "aud": CLIENT_ID}).encode())
    return f"{header}.{claims}.signature"


def send_back(route: Route, url: str) -> None:
    """The hosted UI's page after the person signed in: it sends the browser on (a fresh navigation, so the console's
    own answer, with its headers, is what loads; a 302 answered here would be followed without them)."""
    route.fulfill(content_type="text/html", body=f'<meta http-equiv="refresh" content="0;url={url}">')


def test_cognito_sign_in_uses_the_code_grant_with_pkce_and_sends_the_id_token_as_bearer(pipeline: RunningPipeline, open_page: Any) -> None:
    console = pipeline.api_url
    token = id_token("grace@example.com")
    seen: dict[str, Any] = {"api_authorizations": []}
    page = open_page()

    def console_page(route: Route) -> None:
        # CloudFront's policy (infra/people.py): fetches to itself and the hosted UI.
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": console_content_security_policy(HOSTED_UI)}
        route.fulfill(response=response, headers=headers)

    def config(route: Route) -> None:
        # As infra/cdk/stack.py writes it (api_url: CloudFront sends /api/* to the people API).
        route.fulfill(json={"auth": "cognito", "region": "us-east-1", "user_pool_id": "us-east-1_test", "sign_in_url": HOSTED_UI,
                            "client_id": CLIENT_ID, "redirect_uri": f"{console}/", "logout_uri": f"{console}/",
                            "scopes": ["openid", "email", "profile"], "identity_providers": [], "api_url": "/api",
                            "cli_client_id": "cli-client-id", "cli_redirect_uri": "http://localhost:8765/callback"})

    def authorize(route: Route) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        seen["authorize"] = query
        back = f"{query['redirect_uri']}?{urlencode({'code': 'the-code', 'state': query['state']})}"
        send_back(route, back)

    def token_endpoint(route: Route) -> None:
        form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        seen["token"] = form
        cors = {"Access-Control-Allow-Origin": console}
        if form.get("grant_type") != "authorization_code" or form.get("code") != "the-code":
            route.fulfill(status=400, json={"error": "invalid_grant"}, headers=cors)
            return
        route.fulfill(json={"id_token": token, "access_token": "access", "refresh_token": "refresh", "expires_in": 3600,
                            "token_type": "Bearer"}, headers=cors)

    def people_api(route: Route) -> None:
        seen["api_authorizations"].append(route.request.headers.get("authorization"))
        path = urlsplit(route.request.url).path
        if path == "/api/auth/me":
            route.fulfill(json={"person": "grace", "name": "Grace Ops", "roles": ["viewer"], "kind": "person"})
        elif path == "/api/incidents":
            route.fulfill(json={"items": [], "cursor": None})
        elif path == "/api/admin/directory":
            route.fulfill(json={"revision": 0, "directory": {"people": [], "teams": [], "services": [], "schedules": []}, "sources": {}})
        else:
            route.fulfill(status=404, json={"error": "route_not_found", "message": f"no route for GET {path}"})

    def logout(route: Route) -> None:
        seen["logout"] = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        send_back(route, seen["logout"]["logout_uri"])

    page.route(lambda url: url.startswith(console) and urlsplit(url).path == "/", console_page)
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
    assert {k: authorize_query[k] for k in ("response_type", "client_id", "redirect_uri", "code_challenge_method", "scope")} == {
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": f"{console}/", "code_challenge_method": "S256",
        "scope": "openid email profile"}
    # And the code was traded with the verifier whose SHA-256 is the challenge
    verifier = seen["token"]["code_verifier"]
    assert len(verifier) >= 43 and b64url(hashlib.sha256(verifier.encode()).digest()) == authorize_query["code_challenge"]
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
    page.route(f"{console}/config.json", lambda route: route.fulfill(json={
        "api": "/api", "auth": "cognito", "sign_in_url": HOSTED_UI, "client_id": CLIENT_ID, "redirect_uri": f"{console}/"}))

    # When the hosted UI sends the person back with an error (a disabled user, a federation failure, …)
    page.goto(f"{console}/?{urlencode({'error': 'access_denied', 'error_description': 'User is disabled.'})}")

    # Then the sign-in page says so, as Cognito worded it
    expect(page.get_by_role("alert")).to_contain_text("User is disabled.", timeout=15_000)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
