"""`python -m bench.throughput`."""

from bench.throughput.cli import app

app()
