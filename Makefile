# Benchmarks and the load test (BENCHMARKS.md); writes BENCHMARKS-results.txt.
.PHONY: bench
bench:
	./scripts/bench.sh
