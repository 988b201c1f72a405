# mk/bench.mk -- 'make bench': the cost of the firewall (bench/run.sh);
# 'make bench-tokens': the cost of a token at max_tokens 1024 and 1000000.
# Included from the top-level Makefile by '-include mk/*.mk'.  Uses the
# installed library; run 'make install' first.  BENCH_QUICK=1 for a short run.
.PHONY: bench
bench:
	PG_CONFIG=$(PG_CONFIG) bash bench/run.sh

# 'make bench-tokens': what finding and spending a token costs at
# deletion_firewall.max_tokens = 1024 and 1000000, and the shared memory
# each allocates (bench/token_lookup.sh; TOKBENCH_N, TOKBENCH_SIZES knobs).
# Uses the installed library; run 'make install' first.
.PHONY: bench-tokens
bench-tokens:
	PG_CONFIG=$(PG_CONFIG) bash bench/token_lookup.sh
