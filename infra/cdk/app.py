"""CDK entry point (cdk.json): the Firebell stack, checked by cdk-nag's AWS Solutions rules.

The deployer's settings (infra/cdk/settings.py) are read from the context before anything is built: what is missing
or wrong stops the synthesis with one message that lists it all, not a stack trace."""

import os
import sys

from aws_cdk import App, Aspects
from cdk_nag import AwsSolutionsChecks

from infra.cdk.settings import DeploySettingsError, read
from infra.cdk.stack import FirebellStack

STACK_NAME = "Firebell"


def build(app: App) -> FirebellStack:
    """The stack in `app`, with the cdk-nag aspect applied (shared by the CLI entry point and tests/infra)."""
    settings = read(app.node, account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
    # Environment-agnostic (no account/region): synth needs no credentials.
    stack = FirebellStack(app, STACK_NAME, settings=settings, description="firebell: serverless incident management")
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return stack


def main() -> None:
    app = App()
    try:
        build(app)
    except DeploySettingsError as error:
        print(error, file=sys.stderr)
        sys.exit(2)
    app.synth()


if __name__ == "__main__":
    main()
