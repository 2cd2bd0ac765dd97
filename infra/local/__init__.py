"""The local runtime: the whole pipeline on one machine, no AWS account (see runtime.py)."""
