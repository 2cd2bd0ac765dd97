"""Adapters: the AWS side of the ports (SNS, SES, Step Functions, SQS). Clients are created on first use."""
