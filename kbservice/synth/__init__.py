"""A synthetic corpus for benchmarks (the `kbservice synth` command)."""
