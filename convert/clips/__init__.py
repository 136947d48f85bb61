"""The clips edge/ and the benchmarks run on: the bundled demo clip and the two-face tracking clip."""
