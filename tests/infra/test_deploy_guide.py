"""docs/deploy.md, as far as it goes without an AWS account: every `cdk` command it prints is synthesized with exactly
its `-c` values (and its cdk.context.json with exactly its keys), and the stacks they make are the ones the guide
describes: the deployer's sender and ops contacts, custom domains with their certificates and records, the console's
and the ack links' URLs following them, the SMS origination identity, and cdk-nag clean."""

from __future__ import annotations

import itertools
import json
import re
import shlex
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk.assertions import Annotations, Match
from conftest import synthesize
from test_deploy_settings import Context

from infra.cdk import settings as s
from infra.cdk.settings import read
from infra.cdk.stack import DEMO_KEYS_WARNING, DEMO_PEOPLE_WARNING
from infra.topology import ROOT, TOPOLOGY

if TYPE_CHECKING:
    from conftest import Synthesized

GUIDE = ROOT / "docs" / "deploy.md"
CDK_COMMAND = re.compile(r"^npx cdk (deploy|synth|diff|destroy)\b")


def blocks(fence: str) -> list[str]:
    """The text of each ```<fence> block."""
    return re.findall(rf"^ *```{fence}\n(.*?)^ *```", GUIDE.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


def cdk_commands() -> list[list[str]]:
    """Every `npx cdk …` command of the guide's shell blocks, its continued lines joined, as words."""
    commands = []
    for block in blocks("shell"):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            line = line.strip()
            if CDK_COMMAND.match(line):
                commands.append(shlex.split(line, comments=True))
    return commands


def context_of(words: list[str]) -> dict[str, str]:
    """`-c key=value` (and `--context key=value`) as the CDK CLI reads them."""
    values = {}
    for flag, value in itertools.pairwise(words):
        if flag in ("-c", "--context"):
            key, _, given = value.partition("=")
            values[key] = given
    return values


def documented_context_json() -> dict[str, Any]:
    (document,) = [json.loads(block) for block in blocks("json") if '"firebell:env"' in block]
    return document


def deploys() -> list[dict[str, str]]:
    """The first deploy's commands: the ones that say firebell:env themselves."""
    return [context_of(words) for words in cdk_commands() if words[2] == "deploy" and s.ENV in context_of(words)]


def index_upgrade() -> list[dict[str, str]]:
    """The deploys that take a stack from before issue 10 to the new index projections, in order."""
    (block,) = [block for block in blocks("shell") if s.LEGACY_INDEXES in block]
    return [context_of(shlex.split(line)) for line in block.splitlines() if CDK_COMMAND.match(line.strip())]


def index_state(context: dict[str, Any]) -> dict[str, str]:
    """Index name → its projection as the stack renders it with `context`; a left-out index is not there."""
    settings = read(Context(context))
    return {
        index.name: "ALL" if index.name in settings.legacy_all_indexes else index.projection
        for table in TOPOLOGY.tables
        for index in table.indexes
        if index.name not in settings.omitted_indexes
    }


def test_the_guide_prints_the_commands_it_walks_through() -> None:
    verbs = [words[2] for words in cdk_commands()]
    assert {"deploy", "diff", "destroy"} <= set(verbs), verbs
    assert len(deploys()) == 2, "the first deploy, in full and in its smallest form"
    assert any(block.strip().startswith("npx cdk bootstrap aws://") for block in blocks("shell"))


def test_every_documented_context_is_accepted_and_the_json_says_what_the_full_deploy_says() -> None:
    full, smallest = deploys()
    for given in (full, smallest, documented_context_json()):
        assert read(Context(given)).environment == "prod"
    # cdk.context.json's lists and the command line's comma-separated values are the same settings
    assert read(Context(documented_context_json())) == read(Context(full))


def test_the_guide_documents_every_setting_and_the_message_it_quotes_is_the_app_s() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for key in s.KNOWN:
        assert f"`{key}`" in text, key
    (quoted,) = [block for block in blocks("text") if "cannot synthesize" in block]
    with pytest.raises(s.DeploySettingsError) as refused:
        read(Context({s.ENV: "prod"}))
    assert quoted.strip() == str(refused.value)


def test_the_index_upgrade_changes_one_index_per_deploy_and_ends_at_the_models_projections() -> None:
    steps = index_upgrade()
    names = {index.name for table in TOPOLOGY.tables for index in table.indexes}
    # Given a stack from before issue 10: every index projects ALL
    state = dict.fromkeys(names, "ALL")
    for number, step in enumerate(steps, 1):
        following = index_state({**documented_context_json(), **step})
        changed = {name for name in names if state.get(name) != following.get(name)}
        # Then each deploy creates or deletes at most one index, and never changes one in place
        assert len(changed) <= 1, (number, step, changed)
        assert all(name not in state or name not in following for name in changed), (number, step, changed)
        state = following
    assert steps[0] and not steps[-1], "it starts with the new code on the old indexes and ends with no such setting"
    assert state == index_state(documented_context_json())
    assert set(state.values()) != {"ALL"}


# --- the stacks the documented commands make --------------------------------------------------------------------


@pytest.fixture(scope="module")
def full() -> Iterator[Synthesized]:
    yield synthesize(deploys()[0])


@pytest.fixture(scope="module")
def smallest() -> Iterator[Synthesized]:
    yield synthesize(deploys()[1])


@pytest.fixture(scope="module")
def without_zone() -> Iterator[Synthesized]:
    """The full deploy for a deployer whose DNS is not in Route 53."""
    context = {k: v for k, v in deploys()[0].items() if k not in (s.HOSTED_ZONE_ID, s.HOSTED_ZONE_NAME)}
    yield synthesize(context)


@pytest.fixture(scope="module")
def upgrading() -> Iterator[Synthesized]:
    """The index upgrade's second deploy: by-outbox left out, the other indexes as before issue 10."""
    yield synthesize({**documented_context_json(), **index_upgrade()[1]})


def test_an_upgrade_step_renders_the_indexes_it_names(upgrading: Synthesized) -> None:
    step = index_upgrade()[1]
    (table,) = of_type(upgrading, "AWS::DynamoDB::Table").values()
    indexes = {i["IndexName"]: i["Projection"] for i in table["Properties"]["GlobalSecondaryIndexes"]}
    assert set(indexes) == set(step[s.LEGACY_INDEXES].split(","))
    assert all(projection == {"ProjectionType": "ALL"} for projection in indexes.values())
    assert not upgrading.nag_errors and not upgrading.nag_warnings


def of_type(synthesized: Synthesized, cfn_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in synthesized.json["Resources"].items() if r["Type"] == cfn_type}


def variables(synthesized: Synthesized, function: str) -> dict[str, Any]:
    resource = synthesized.resource(synthesized.stack.functions[function])
    return resource["Properties"]["Environment"]["Variables"]


def test_the_api_has_its_regional_custom_domain_with_the_given_certificate(full: Synthesized) -> None:
    context = deploys()[0]
    (domain,) = of_type(full, "AWS::ApiGateway::DomainName").values()
    assert domain["Properties"] == {
        "DomainName": context[s.API_DOMAIN],
        "EndpointConfiguration": {"Types": ["REGIONAL"]},
        "RegionalCertificateArn": context[s.API_CERTIFICATE],
        "SecurityPolicy": "TLS_1_2",
    }
    # Its root is the machine API's stage (the ack links' and the integrations' routes)
    (mapping,) = of_type(full, "AWS::ApiGateway::BasePathMapping").values()
    api = full.stack.apis["api"]
    assert mapping["Properties"]["RestApiId"] == {"Ref": full.logical_id(api)}
    assert mapping["Properties"]["Stage"] == {"Ref": full.stack.get_logical_id(api.deployment_stage.node.default_child)}
    assert "BasePath" not in mapping["Properties"]


def test_the_hosted_zone_gets_the_names_and_the_dkim_records(full: Synthesized) -> None:
    context = deploys()[0]
    records = of_type(full, "AWS::Route53::RecordSet").values()
    assert {r["Properties"]["HostedZoneId"] for r in records} == {context[s.HOSTED_ZONE_ID]}
    aliases = sorted(
        (r["Properties"]["Name"], r["Properties"]["Type"]) for r in records if "AliasTarget" in r["Properties"]
    )
    assert aliases == [
        (f"{context[s.API_DOMAIN]}.", "A"),
        (f"{context[s.CONSOLE_DOMAIN]}.", "A"),
        (f"{context[s.CONSOLE_DOMAIN]}.", "AAAA"),
    ]
    dkim = [r for r in records if r["Properties"]["Type"] == "CNAME"]
    identity = full.logical_id(full.stack.sender_identity)
    assert sorted(r["Properties"]["Name"]["Fn::GetAtt"] for r in dkim) == [
        [identity, f"DkimDNSTokenName{n}"] for n in (1, 2, 3)
    ]
    assert full.resource(full.stack.sender_identity)["Properties"]["EmailIdentity"] == context[s.SES_IDENTITY]


def test_the_console_answers_on_its_name_with_its_certificate(full: Synthesized) -> None:
    context = deploys()[0]
    config = full.resource(full.stack.console.distribution)["Properties"]["DistributionConfig"]
    assert config["Aliases"] == [context[s.CONSOLE_DOMAIN]]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": context[s.CONSOLE_CERTIFICATE],
        "MinimumProtocolVersion": "TLSv1.2_2021",
        "SslSupportMethod": "sni-only",
    }


def test_urls_follow_the_custom_domains(full: Synthesized) -> None:
    context = deploys()[0]
    console, api = f"https://{context[s.CONSOLE_DOMAIN]}", f"https://{context[s.API_DOMAIN]}/"
    outputs = full.json["Outputs"]
    assert outputs["ConsoleUrl"]["Value"] == console and outputs["ApiUrl"]["Value"] == api
    # Every function that links to the console or signs ack links gets the names people will use
    for spec in TOPOLOGY.functions:
        wanted = {"CONSOLE_URL": console, "PUBLIC_API_URL": api}
        found = variables(full, spec.name)
        for variable in set(wanted) & set(spec.environment):
            assert found[variable] == wanted[variable], (spec.name, variable)
    assert any("PUBLIC_API_URL" in f.environment for f in TOPOLOGY.functions)
    # Cognito sends people back to the console's name after sign-in and sign-out
    properties = full.resource(full.stack.people.console_client)["Properties"]
    assert properties["CallbackURLs"] == properties["LogoutURLs"] == [f"{console}/"]


def test_the_functions_send_from_the_deployer_s_sender_and_origination_identity(full: Synthesized) -> None:
    context = deploys()[0]
    for spec in TOPOLOGY.functions:
        found = variables(full, spec.name)
        assert found["FIREBELL_SENDER"] == context[s.SENDER], spec.name
        # The origination identity only where SMS are sent from
        assert found.get("FIREBELL_SMS_ORIGINATION") == (
            context[s.SMS_ORIGINATION] if spec.permissions.send_sms else None
        ), spec.name
    assert any(spec.permissions.send_sms for spec in TOPOLOGY.functions)


def test_the_ops_topic_reaches_the_deployer_s_ops_contacts(full: Synthesized, smallest: Synthesized) -> None:
    for synthesized, given in ((full, deploys()[0]), (smallest, deploys()[1])):
        topic = synthesized.logical_id(synthesized.stack.monitoring.ops_topic)
        subscriptions = sorted(
            (r["Properties"]["Protocol"], r["Properties"]["Endpoint"])
            for r in of_type(synthesized, "AWS::SNS::Subscription").values()
            if r["Properties"]["TopicArn"] == {"Ref": topic}
        )
        wanted = [("email", given[s.OPS_EMAILS])] + ([("sms", given[s.OPS_PHONES])] if s.OPS_PHONES in given else [])
        assert subscriptions == sorted(wanted)


def test_the_smallest_deployment_uses_aws_names_and_verifies_the_sender_s_address(smallest: Synthesized) -> None:
    context = deploys()[1]
    assert smallest.resource(smallest.stack.sender_identity)["Properties"]["EmailIdentity"] == context[s.SENDER]
    assert not of_type(smallest, "AWS::ApiGateway::DomainName") and not of_type(smallest, "AWS::Route53::RecordSet")
    console_url = smallest.json["Outputs"]["ConsoleUrl"]["Value"]
    distribution = smallest.logical_id(smallest.stack.console.distribution)
    assert {"Fn::GetAtt": [distribution, "DomainName"]} in console_url["Fn::Join"][1]
    assert all(variables(smallest, f.name)["FIREBELL_SENDER"] == context[s.SENDER] for f in TOPOLOGY.functions)
    assert not any("FIREBELL_SMS_ORIGINATION" in variables(smallest, f.name) for f in TOPOLOGY.functions)


def test_without_a_hosted_zone_the_outputs_say_what_to_publish(without_zone: Synthesized) -> None:
    outputs = without_zone.json["Outputs"]
    assert {"ApiDomainTarget", "ConsoleDomainTarget", "SenderDkim1", "SenderDkim2", "SenderDkim3"} <= set(outputs)
    assert not of_type(without_zone, "AWS::Route53::RecordSet")
    identity = without_zone.logical_id(without_zone.stack.sender_identity)
    assert {"Fn::GetAtt": [identity, "DkimDNSTokenValue2"]} in outputs["SenderDkim2"]["Value"]["Fn::Join"][1]


def test_a_deployment_whose_config_has_only_demo_keys_is_warned(smallest: Synthesized) -> None:
    warnings = Annotations.from_stack(smallest.stack).find_warning(
        "*", Match.string_like_regexp(f".*{DEMO_KEYS_WARNING}.*")
    )
    assert len(warnings) == 1 and "python -m firebell.keys new" in warnings[0].entry.data
    # and so is one whose directory still pages the demo's people, at addresses that reach nobody
    people = Annotations.from_stack(smallest.stack).find_warning(
        "*", Match.string_like_regexp(f".*{DEMO_PEOPLE_WARNING}.*")
    )
    assert len(people) == 1 and "alice" in people[0].entry.data and "docs/importing.md" in people[0].entry.data


def test_every_documented_stack_is_cdk_nag_clean(
    full: Synthesized, smallest: Synthesized, without_zone: Synthesized
) -> None:
    for synthesized in (full, smallest, without_zone):
        assert not synthesized.nag_errors, [m.entry.data for m in synthesized.nag_errors]
        assert not synthesized.nag_warnings, [m.entry.data for m in synthesized.nag_warnings]
