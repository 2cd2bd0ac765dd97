"""The console in AWS (infra/cdk/console.py): a private, encrypted, SSL-only bucket that only the distribution
reads (origin access control); a distribution that serves it over HTTPS with security headers, index.html at
the root and for client-side routes, and /api/* from the people API; console/ and config.json deployed into it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infra.cdk.console import API_PATH, CONFIG_KEY, SPA_FALLBACK, STRIP_API_PREFIX
from infra.people import CONSOLE_DIR

if TYPE_CHECKING:
    from conftest import Synthesized

Resources = dict[str, dict[str, Any]]
# CloudFront's managed policies (AWS documents these ids).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def of_type(resources: Resources, cfn_type: str) -> Resources:
    return {k: r for k, r in resources.items() if r["Type"] == cfn_type}


@pytest.fixture(scope="module")
def config(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.resource(synthesized.stack.console.distribution)["Properties"]["DistributionConfig"]


def flatten(value: Any) -> str:
    """A template string as one: `{"Ref": "X"}` → `${X}`, Fn::Join → the joined parts."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    separator, parts = value["Fn::Join"]
    return separator.join(flatten(part) for part in parts)


def _policy_of(resources: Resources, bucket_id: str) -> list[dict[str, Any]]:
    (policy,) = [
        p
        for p in of_type(resources, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    return policy["Properties"]["PolicyDocument"]["Statement"]


# --- the buckets -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bucket", ["bucket", "log_bucket"])
def test_buckets_are_private_encrypted_and_ssl_only(
    synthesized: Synthesized, resources: Resources, bucket: str
) -> None:
    bucket_id = synthesized.logical_id(getattr(synthesized.stack.console, bucket))
    properties = resources[bucket_id]["Properties"]
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert properties["PublicAccessBlockConfiguration"] == BLOCK_ALL
    deny = [s for s in _policy_of(resources, bucket_id) if s["Effect"] == "Deny"]
    assert [(s["Action"], s["Condition"]) for s in deny] == [("s3:*", {"Bool": {"aws:SecureTransport": "false"}})]


def test_only_the_distribution_reads_the_console_bucket(synthesized: Synthesized, resources: Resources) -> None:
    console = synthesized.stack.console
    bucket_id, distribution_id = synthesized.logical_id(console.bucket), synthesized.logical_id(console.distribution)
    (allow,) = [s for s in _policy_of(resources, bucket_id) if s["Effect"] == "Allow"]
    # CloudFront, for this distribution only (origin access control's policy), may read objects: nothing else
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert {"Ref": distribution_id} in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]
    assert resources[bucket_id]["Properties"]["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
    # And its own access is logged, to the log bucket
    logging = resources[bucket_id]["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": synthesized.logical_id(console.log_bucket)}


# --- the distribution --------------------------------------------------------------------------------------


def test_the_distribution_reads_the_bucket_through_origin_access_control(
    synthesized: Synthesized, resources: Resources, config: dict[str, Any]
) -> None:
    bucket_id = synthesized.logical_id(synthesized.stack.console.bucket)
    (origin,) = [o for o in config["Origins"] if o["DomainName"] == {"Fn::GetAtt": [bucket_id, "RegionalDomainName"]}]
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    oac_id = origin["OriginAccessControlId"]["Fn::GetAtt"][0]
    oac = resources[oac_id]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == origin["Id"]


def test_the_distribution_serves_https_only_with_index_html_at_the_root(config: dict[str, Any]) -> None:
    assert config["DefaultRootObject"] == "index.html"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert [b["ViewerProtocolPolicy"] for b in config["CacheBehaviors"]] == ["https-only"]
    origins = {o["Id"]: o for o in config["Origins"]}
    for behavior in config["CacheBehaviors"]:
        custom = origins[behavior["TargetOriginId"]]["CustomOriginConfig"]
        assert custom["OriginProtocolPolicy"] == "https-only" and custom["OriginSSLProtocols"] == ["TLSv1.2"]


def test_every_response_carries_the_security_headers(
    synthesized: Synthesized, resources: Resources, config: dict[str, Any]
) -> None:
    behaviors = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    (policy_id,) = {b["ResponseHeadersPolicyId"]["Ref"] for b in behaviors}
    headers = resources[policy_id]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 365 * 24 * 3600
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    # The CSP lets the console run only its own files, and fetch only itself, the hosted UI (the OAuth token
    # exchange) and Cognito's user API (MFA set-up)
    csp = dict(
        d.strip().split(" ", 1) for d in flatten(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]).split(";")
    )
    domain = "${" + synthesized.logical_id(synthesized.stack.people.domain) + "}"
    assert (
        csp["connect-src"]
        == f"'self' https://{domain}.auth.${{AWS::Region}}.amazoncognito.com https://cognito-idp.${{AWS::Region}}.${{AWS::URLSuffix}}"
    )
    assert (
        csp["default-src"] == csp["script-src"] == csp["style-src"] == csp["base-uri"] == csp["form-action"] == "'self'"
    )
    assert csp["frame-ancestors"] == csp["object-src"] == "'none'"


def test_api_paths_go_to_the_people_api_uncached_with_the_caller_s_headers(
    synthesized: Synthesized, config: dict[str, Any]
) -> None:
    (behavior,) = config["CacheBehaviors"]
    assert behavior["PathPattern"] == f"{API_PATH}/*"
    assert behavior["CachePolicyId"] == CACHING_DISABLED
    # The Authorization header reaches API Gateway; Host does not (API Gateway needs its own)
    assert behavior["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert set(behavior["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    (origin,) = [o for o in config["Origins"] if o["Id"] == behavior["TargetOriginId"]]
    api_id = synthesized.logical_id(synthesized.stack.people.api)
    assert json.dumps({"Ref": api_id}) in json.dumps(origin["DomainName"])
    assert api_id in json.dumps(origin["OriginPath"])  # the stage, from the people API's URL
    (association,) = behavior["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"


def test_console_pages_are_cached_and_fall_back_to_index_html_without_custom_error_responses(
    config: dict[str, Any],
) -> None:
    default = config["DefaultCacheBehavior"]
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    (association,) = default["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    # Custom error responses would apply to /api/* too and hide the API's own 403 and 404 answers
    assert "CustomErrorResponses" not in config


def test_the_functions_in_the_template_are_the_module_s(
    synthesized: Synthesized, resources: Resources, config: dict[str, Any]
) -> None:
    functions = {k: r["Properties"] for k, r in of_type(resources, "AWS::CloudFront::Function").items()}
    by_behavior = {
        "default": config["DefaultCacheBehavior"]["FunctionAssociations"][0]["FunctionARN"]["Fn::GetAtt"][0],
        "api": config["CacheBehaviors"][0]["FunctionAssociations"][0]["FunctionARN"]["Fn::GetAtt"][0],
    }
    assert functions[by_behavior["default"]]["FunctionCode"] == SPA_FALLBACK
    assert functions[by_behavior["api"]]["FunctionCode"] == STRIP_API_PREFIX
    assert {f["FunctionConfig"]["Runtime"] for f in functions.values()} == {"cloudfront-js-2.0"}


def _run(code: str, uris: list[str]) -> list[str]:
    """The CloudFront Function's handler, run by node on viewer-request events with these URIs: the URI of the
    request it hands on (a viewer-request handler returns the request)."""
    script = code + f"\nconsole.log(JSON.stringify({json.dumps(uris)}.map(u => handler({{request: {{uri: u}}}}).uri)));"
    node = shutil.which("node")
    assert node, "node runs the CDK; it is here wherever synth runs"
    done = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_client_side_routes_get_index_html_and_files_stay_files() -> None:
    uris = [
        "/",
        "/incidents",
        "/incidents/01J0ABC",
        "/oncall/",
        "/index.html",
        "/app.js",
        "/config.json",
        "/assets/app.css",
    ]
    assert _run(SPA_FALLBACK, uris) == [
        "/index.html",
        "/index.html",
        "/index.html",
        "/index.html",
        "/index.html",
        "/app.js",
        "/config.json",
        "/assets/app.css",
    ]


def test_the_api_prefix_is_stripped_before_the_people_api_sees_the_path() -> None:
    uris = ["/api/incidents", "/api/incidents/01J0ABC/ack", "/api/", "/api/auth/me"]
    assert _run(STRIP_API_PREFIX, uris) == ["/incidents", "/incidents/01J0ABC/ack", "/", "/auth/me"]


def test_cloudfront_and_the_bucket_log_to_the_log_bucket(
    synthesized: Synthesized, resources: Resources, config: dict[str, Any]
) -> None:
    log_bucket = synthesized.logical_id(synthesized.stack.console.log_bucket)
    assert config["Logging"]["Bucket"] == {"Fn::GetAtt": [log_bucket, "RegionalDomainName"]}
    rules = resources[log_bucket]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [r["Status"] for r in rules] == ["Enabled"] and rules[0]["ExpirationInDays"] > 0


# --- what is deployed into the bucket ----------------------------------------------------------------------


def _deployment(synthesized: Synthesized) -> dict[str, Any]:
    (deployment,) = of_type(synthesized.json["Resources"], "Custom::CDKBucketDeployment").values()
    return deployment["Properties"]


# What the console's Content-Security-Policy (script-src/style-src 'self') blocks in a browser.
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def test_the_console_pages_have_nothing_inline_that_the_csp_would_block() -> None:
    pages = sorted(CONSOLE_DIR.rglob("*.html"))
    assert CONSOLE_DIR / "index.html" in pages
    assert {page.name: INLINE.findall(page.read_text(encoding="utf-8")) for page in pages} == {
        page.name: [] for page in pages
    }


def test_the_inline_check_finds_what_the_csp_blocks() -> None:
    assert INLINE.findall('<script src="app.js"></script><link rel="stylesheet" href="app.css">') == []
    for inline in ("<script>go()</script>", "<style>p{}</style>", '<p style="color:red">', '<button onclick="go()">'):
        assert INLINE.findall(inline), inline


def test_console_and_config_json_are_deployed_and_cloudfront_invalidated(synthesized: Synthesized) -> None:
    deployment = _deployment(synthesized)
    assert deployment["DestinationBucketName"] == {"Ref": synthesized.logical_id(synthesized.stack.console.bucket)}
    assert deployment["DistributionId"] == {"Ref": synthesized.logical_id(synthesized.stack.console.distribution)}
    assert deployment["DistributionPaths"] == ["/*"]
    assert len(deployment["SourceObjectKeys"]) == 2
    staged = [_staged(synthesized, key) for key in deployment["SourceObjectKeys"]]
    files = sorted(p.relative_to(folder).as_posix() for folder in staged for p in folder.rglob("*") if p.is_file())
    console = sorted(p.relative_to(CONSOLE_DIR).as_posix() for p in CONSOLE_DIR.rglob("*") if p.is_file())
    assert "index.html" in console and any(name.startswith("assets/js/") for name in console)
    assert files == sorted([*console, CONFIG_KEY])


def _staged(synthesized: Synthesized, object_key: str) -> Path:
    """The asset folder in the cloud assembly that the deployment's source object is zipped from."""
    outdir = Path(synthesized.stack.node.root.outdir)
    return outdir / f"asset.{object_key.removesuffix('.zip')}"


def test_config_json_tells_the_console_how_to_sign_in_and_where_the_api_is(synthesized: Synthesized) -> None:
    deployment = _deployment(synthesized)
    (index,) = [
        i for i, key in enumerate(deployment["SourceObjectKeys"]) if (_staged(synthesized, key) / CONFIG_KEY).exists()
    ]
    text = (_staged(synthesized, deployment["SourceObjectKeys"][index]) / CONFIG_KEY).read_text(encoding="utf-8")
    markers = deployment["SourceMarkers"][index]
    # Each deploy-time value is a marker the deployment replaces with the JSON string CloudFormation resolves
    for marker in markers:
        text = text.replace(marker, json.dumps(marker))
    config = json.loads(text)
    people, console = synthesized.stack.people, synthesized.stack.console

    def value(key: str) -> Any:
        return markers[config[key]]["Fn::Join"][1]

    assert {"Ref": synthesized.logical_id(people.user_pool)} in value("user_pool_id")
    assert {"Ref": synthesized.logical_id(people.console_client)} in value("client_id")
    assert {"Ref": synthesized.logical_id(people.cli_client)} in value("cli_client_id")
    assert config["auth"] == "cognito"
    assert config["cli_redirect_uri"] in synthesized.resource(people.cli_client)["Properties"]["CallbackURLs"]
    assert {"Ref": synthesized.logical_id(people.domain)} in value("sign_in_url")
    assert {"Ref": "AWS::Region"} in value("region")
    assert value("user_api_url") == [
        '"https://cognito-idp.',
        {"Ref": "AWS::Region"},
        ".",
        {"Ref": "AWS::URLSuffix"},
        '"',
    ]
    distribution = {"Fn::GetAtt": [synthesized.logical_id(console.distribution), "DomainName"]}
    assert value("redirect_uri") == value("logout_uri") == ['"https://', distribution, '/"']
    # Same-origin API, the scopes the clients allow, no IdP without -c firebell:idp
    assert (config["api_url"], config["identity_providers"]) == (API_PATH, [])
    assert config["scopes"] == synthesized.resource(people.console_client)["Properties"]["AllowedOAuthScopes"]


def test_the_console_url_is_an_output(synthesized: Synthesized) -> None:
    distribution = synthesized.logical_id(synthesized.stack.console.distribution)
    assert synthesized.json["Outputs"]["ConsoleUrl"]["Value"] == {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]
    }
