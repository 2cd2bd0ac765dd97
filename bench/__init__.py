"""Benchmarks (run with `make bench`); results in bench/results/local/ (untracked), or bench/results/ with `make bench SAVE=1` (bench/output.py)."""
