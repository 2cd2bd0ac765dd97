"""The console in AWS: console/ in a private S3 bucket, served by CloudFront (origin access control, HTTPS only,
security headers), with /api/* on the same distribution going to the people API, so the console's calls are
same-origin (no CORS) and carry the person's ID token.

Client-side routes fall back to /index.html in a CloudFront Function on the console's files only, not with the
distribution's custom error responses: those apply to every origin and would turn the API's own 403 and 404
answers into the console's page, and the console must show the API's errors as the API words them.
"""

from __future__ import annotations

from typing import Any, cast

from aws_cdk import CfnElement, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import Construct

from infra.cdk.rest_api import LOG_RETENTION
from infra.cdk.settings import CustomDomain
from infra.people import CONSOLE_DIR, console_content_security_policy

API_PATH = "/api"
CONFIG_KEY = "config.json"
ACCESS_LOG_DAYS = 90
HSTS_MAX_AGE = Duration.days(730)

# Viewer-request functions (cloudfront-js-2.0). A path whose last segment has no '.' is a console page (a
# client-side route such as /incidents/01J…): the app's index.html answers it.
SPA_FALLBACK = """function handler(event) {
  var request = event.request;
  var last = request.uri.substring(request.uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}"""
# The people API knows its routes without the prefix: /api/incidents -> /incidents (and /api/ -> /).
STRIP_API_PREFIX = f"""function handler(event) {{
  var request = event.request;
  request.uri = request.uri.substring({len(API_PATH)}) || '/';
  return request;
}}"""


class Console(Construct):
    def __init__(
        self,
        scope: Stack,
        construct_id: str,
        *,
        api: apigw.RestApi,
        sign_in_origins: list[str],
        domain: CustomDomain | None = None,
        certificate: acm.ICertificate | None = None,
    ) -> None:
        """`domain` (with its us-east-1 `certificate`): the name people open instead of CloudFront's own."""
        super().__init__(scope, construct_id)
        self._stack = scope
        self.log_bucket = self._log_bucket()
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="console-bucket/",
            # CloudFormation cannot delete a bucket with files in it; the files all come from console/ anyway.
            removal_policy=RemovalPolicy.RETAIN,
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="firebell console: HSTS, CSP, no framing, no sniffing, no referrer",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=console_content_security_policy(*sign_in_origins), override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                # Incident URLs stay in the console when someone follows a link out of it (a runbook).
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, override=True
                ),
            ),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{scope.stack_name} console",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                # People type the address: http:// is redirected, never served.
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                function_associations=[self._function("SpaFallback", SPA_FALLBACK)],
            ),
            additional_behaviors={
                f"{API_PATH}/*": cloudfront.BehaviorOptions(
                    origin=origins.RestApiOrigin(api),
                    # A redirected POST would lose its body: API calls over http:// are refused instead.
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    # Everything the viewer sent (the Authorization header included) but Host, which API Gateway
                    # needs to be its own.
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=headers,
                    function_associations=[self._function("StripApiPrefix", STRIP_API_PREFIX)],
                )
            },
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
            domain_names=[domain.name] if domain else None,
            certificate=certificate if domain else None,
            # With a certificate of our own CloudFront lets us choose; its default one allows TLS 1.0 (CFR4).
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if domain else None,
        )
        # Cognito's redirects, the console's config.json and the links in chat messages all follow it.
        self.url = domain.url if domain else f"https://{self.distribution.distribution_domain_name}"
        self._explain_distribution(custom_certificate=domain is not None)

    def _log_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "LogBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,  # CloudFront's standard logs cannot write to SSE-KMS
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # CloudFront's standard logging writes with ACLs (bucket owner preferred: the account owns them).
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(ACCESS_LOG_DAYS))],
            removal_policy=RemovalPolicy.RETAIN,  # evidence of who fetched what outlives the stack
        )
        NagSuppressions.add_resource_suppressions(
            bucket,
            [
                NagPackSuppression(
                    id="AwsSolutions-S1",
                    reason="This is the access log bucket (CloudFront and the "
                    "console bucket log here); logging it into itself would loop",
                )
            ],
        )
        return bucket

    def _function(self, construct_id: str, code: str) -> cloudfront.FunctionAssociation:
        function = cloudfront.Function(
            self,
            construct_id,
            code=cloudfront.FunctionCode.from_inline(code),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        return cloudfront.FunctionAssociation(function=function, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST)

    def _explain_distribution(self, custom_certificate: bool) -> None:
        default_certificate = [
            NagPackSuppression(
                id="AwsSolutions-CFR4",
                reason="The default *.cloudfront.net certificate, whose security policy CloudFront fixes; deploy with "
                "-c firebell:console-domain and -c firebell:console-certificate-arn for TLSv1.2_2021 "
                "(docs/deploy.md)",
            )
        ]
        NagSuppressions.add_resource_suppressions(
            self.distribution,
            [
                NagPackSuppression(
                    id="AwsSolutions-CFR1",
                    reason="No geo restriction: responders on call may be anywhere, travelling included; every "
                    "action needs a signed-in person's token",
                ),
                NagPackSuppression(
                    id="AwsSolutions-CFR2",
                    reason="No CloudFront web ACL: it must live in us-east-1 and the stack is region-agnostic; the "
                    "console's files are public by nature, and /api/* goes to the people API, whose authorizer "
                    "refuses requests without a valid token (and which -c firebell:waf=true covers with the "
                    "regional web ACL)",
                ),
                *([] if custom_certificate else default_certificate),
            ],
        )

    def deploy(self, config: dict[str, Any]) -> s3deploy.BucketDeployment:
        """console/ and the console's runtime configuration (config.json, deploy-time values filled in by the
        deployment) into the bucket; then CloudFront forgets its copies."""
        deployment = s3deploy.BucketDeployment(
            self,
            "Deployment",
            destination_bucket=self.bucket,
            sources=[s3deploy.Source.asset(str(CONSOLE_DIR)), s3deploy.Source.json_data(CONFIG_KEY, config)],
            distribution=self.distribution,
            distribution_paths=["/*"],
            log_group=logs.LogGroup(self, "DeploymentLogs", retention=LOG_RETENTION),
        )
        self._explain_deployment(deployment)
        return deployment

    def _explain_deployment(self, deployment: s3deploy.BucketDeployment) -> None:
        """CDK's own deployment function (a singleton of the stack) and the grants it makes itself."""
        bucket = self._stack.get_logical_id(cast(CfnElement, self.bucket.node.default_child))
        NagSuppressions.add_resource_suppressions(
            deployment.handler_role.node.scope,  # the function; its role and policy are its children
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason="CDK's BucketDeployment handler: aws-cdk-lib picks its runtime, and moves it with the "
                    "version pinned in pyproject.toml",
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM4",
                    reason="CDK's BucketDeployment handler logs with the AWS managed basic execution policy",
                    applies_to=[
                        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
                    ],
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="CDK's BucketDeployment grants: read the console's asset in the CDK assets bucket and "
                    "replace every object of the console bucket (so Get/List/Delete on <bucket>/*); CloudFront "
                    "invalidations, which it grants on Resource '*'",
                    applies_to=[
                        "Action::s3:GetBucket*",
                        "Action::s3:GetObject*",
                        "Action::s3:List*",
                        "Action::s3:Abort*",
                        "Action::s3:DeleteObject*",
                        RegexAppliesTo(
                            regex=r"/^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-<AWS::AccountId>-<AWS::Region>\/\*$/g"
                        ),
                        f"Resource::<{bucket}.Arn>/*",
                        "Resource::*",
                    ],
                ),
            ],
            apply_to_children=True,
        )

    def outputs(self) -> None:
        CfnOutput(self._stack, "ConsoleUrl", value=self.url, description="Where people open the console and sign in")
