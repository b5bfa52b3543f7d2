"""LayerLab benchmarks: `python -m benchmarks` runs them all at full size and keeps their figures as
data in benchmarks/results/; `--smoke` runs them at toy size; `--report` writes docs/benchmarks.md."""
