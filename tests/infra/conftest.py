"""One synthesis of the Firebell stack per test session, with the cdk-nag checks applied, offline and fast.

The app gets cdk.json's context (the feature flags `cdk synth` applies, e.g. minimizePolicies), so the template
tested is the one `make synth` writes. The layer is not bundled here: the context key
`aws:cdk:bundling-stacks` = [] makes every asset with bundling skip it (CDK's Stack.bundlingRequired matches
no stack), so no pip runs. `make synth` and test_layer.py build it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Annotations, Match, Template
from aws_cdk.cx_api import SynthesisMessage

from infra.cdk.app import build
from infra.cdk.stack import FirebellStack
from infra.topology import ROOT

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

NAG_MESSAGE = Match.string_like_regexp("AwsSolutions-.*")
CDK_JSON = ROOT / "cdk.json"


@dataclass(frozen=True)
class Synthesized:
    stack: FirebellStack
    template: Template
    json: dict[str, Any]  # template.to_json(), fetched once: each call crosses into the jsii runtime
    nag_errors: list[SynthesisMessage]
    nag_warnings: list[SynthesisMessage]

    def logical_id(self, construct: Any) -> str:
        """Logical id of a construct's CloudFormation resource (or of a Cfn resource itself)."""
        resource = construct.node.default_child or construct
        return self.stack.get_logical_id(resource)

    def resource(self, construct: Any) -> dict[str, Any]:
        return self.json["Resources"][self.logical_id(construct)]


def synthesize(extra_context: dict[str, Any] | None = None) -> Synthesized:
    """The stack as `cdk synth -c key=value …` would make it (each call a whole synthesis: a few seconds)."""
    context = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    app = App(context={**context, "aws:cdk:bundling-stacks": [], **(extra_context or {})})
    stack = build(app)
    template = Template.from_stack(stack)  # synthesizes the app: the cdk-nag aspect runs here
    annotations = Annotations.from_stack(stack)
    return Synthesized(
        stack=stack,
        template=template,
        json=template.to_json(),
        nag_errors=annotations.find_error("*", NAG_MESSAGE),
        nag_warnings=annotations.find_warning("*", NAG_MESSAGE),
    )


@pytest.fixture(scope="session")
def synthesized() -> Iterator[Synthesized]:
    yield synthesize()


@pytest.fixture(scope="session")
def template_json(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.json


@pytest.fixture(scope="session")
def resources(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return synthesized.json["Resources"]
