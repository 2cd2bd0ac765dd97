"""`python -m firebell.cli`: the same as the `firebell` command."""

from .main import run_entry_point

if __name__ == "__main__":
    run_entry_point()
