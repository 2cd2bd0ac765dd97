"""Names a deployer owns (infra/cdk/settings.py): the SES identity firebell sends from, the API's custom domain, and
the Route 53 records that point the API's and the console's names at AWS's, when a hosted zone is given.

Without a hosted zone the records are the deployer's to make where their DNS lives: the outputs say what to point
each name at (ApiDomainTarget, ConsoleDomainTarget) and, for an SES domain identity, the three DKIM CNAMEs.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_ses as ses

from infra.cdk.settings import CustomDomain, DeploySettings, HostedZone

DKIM_RECORDS = 3  # Easy DKIM: SES signs with one of three keys, each published as a CNAME


def hosted_zone(stack: Stack, zone: HostedZone | None) -> route53.IHostedZone | None:
    """The zone by id and name as given: no lookup, so synth needs no credentials and cdk.context.json no cache."""
    if zone is None:
        return None
    return route53.HostedZone.from_hosted_zone_attributes(
        stack, "HostedZone", hosted_zone_id=zone.zone_id, zone_name=zone.name
    )


def sender_identity(stack: Stack, settings: DeploySettings, zone: route53.IHostedZone | None) -> ses.EmailIdentity:
    """The SES identity the functions may send as: the sender's address (SES mails it a link to click), or its
    domain (Easy DKIM: three CNAMEs, made here when the hosted zone is the domain's)."""
    if not settings.ses_identity_is_domain:
        return ses.EmailIdentity(stack, "SenderIdentity", identity=ses.Identity.email(settings.ses_identity))
    in_zone = (
        zone is not None and settings.hosted_zone is not None and settings.hosted_zone.name == settings.ses_identity
    )
    identity = ses.EmailIdentity(
        stack,
        "SenderIdentity",
        identity=ses.Identity.public_hosted_zone(zone)
        if in_zone and zone
        else ses.Identity.domain(settings.ses_identity),
    )
    if not in_zone:
        for number, (name, value) in enumerate(
            [
                (identity.dkim_dns_token_name1, identity.dkim_dns_token_value1),
                (identity.dkim_dns_token_name2, identity.dkim_dns_token_value2),
                (identity.dkim_dns_token_name3, identity.dkim_dns_token_value3),
            ],
            1,
        ):
            CfnOutput(
                stack,
                f"SenderDkim{number}",
                value=f"{name} CNAME {value}",
                description=f"DKIM record {number} of {DKIM_RECORDS} for {settings.ses_identity}: publish it, SES "
                "then verifies the domain",
            )
    return identity


def api_domain(
    stack: Stack, api: apigw.RestApi, domain: CustomDomain, zone: route53.IHostedZone | None
) -> apigw.DomainName:
    """A regional custom domain (certificate from the stack's region) whose root is the API's stage: the URL the
    API's outputs, the ack links and the integrations' URLs then use."""
    name = apigw.DomainName(
        stack,
        "ApiDomain",
        domain_name=domain.name,
        certificate=acm.Certificate.from_certificate_arn(stack, "ApiCertificate", domain.certificate_arn),
        endpoint_type=apigw.EndpointType.REGIONAL,
        security_policy=apigw.SecurityPolicy.TLS_1_2,
    )
    name.add_base_path_mapping(api, stage=api.deployment_stage)
    target = route53.RecordTarget.from_alias(route53_targets.ApiGatewayDomain(name))
    if zone is not None:
        route53.ARecord(stack, "ApiDomainRecord", zone=zone, record_name=domain.name, target=target)
    else:
        CfnOutput(
            stack,
            "ApiDomainTarget",
            value=name.domain_name_alias_domain_name,
            description=f"Point {domain.name} here (a CNAME, or an alias record in Route 53)",
        )
    return name


def console_certificate(stack: Stack, domain: CustomDomain) -> acm.ICertificate:
    return acm.Certificate.from_certificate_arn(stack, "ConsoleCertificate", domain.certificate_arn)


def console_records(
    stack: Stack, distribution: cloudfront.IDistribution, domain: CustomDomain, zone: route53.IHostedZone | None
) -> None:
    if zone is None:
        CfnOutput(
            stack,
            "ConsoleDomainTarget",
            value=distribution.distribution_domain_name,
            description=f"Point {domain.name} here (a CNAME, or an alias record in Route 53)",
        )
        return
    target = route53.RecordTarget.from_alias(route53_targets.CloudFrontTarget(distribution))
    # CloudFront answers on IPv6 too (the distribution's default).
    route53.ARecord(stack, "ConsoleDomainRecord", zone=zone, record_name=domain.name, target=target)
    route53.AaaaRecord(stack, "ConsoleDomainRecordIpv6", zone=zone, record_name=domain.name, target=target)
