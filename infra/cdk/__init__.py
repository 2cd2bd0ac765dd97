"""CDK (Python) renderer of infra.topology: `python -m infra.cdk.app` (what `make synth` runs)."""
