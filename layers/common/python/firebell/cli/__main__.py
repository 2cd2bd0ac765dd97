import sys

from .main import main

if __name__ == "__main__":  # python -m firebell.cli; importing the module (tests/unit/test_import_graph.py) runs nothing
    sys.exit(main())
