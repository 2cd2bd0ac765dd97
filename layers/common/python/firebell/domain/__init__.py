"""Pure, typed incident domain: no boto3, no I/O."""
