"""CDK entry point (cdk.json): the Firebell stack, checked by cdk-nag's AWS Solutions rules."""

from aws_cdk import App, Aspects
from cdk_nag import AwsSolutionsChecks

from infra.cdk.stack import FirebellStack

STACK_NAME = "Firebell"


def build(app: App) -> FirebellStack:
    """The stack in `app`, with the cdk-nag aspect applied (shared by the CLI entry point and tests/infra)."""
    # Environment-agnostic (no account/region): synth needs no credentials.
    stack = FirebellStack(app, STACK_NAME, description="firebell: serverless incident management")
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return stack


def main() -> None:
    app = App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
