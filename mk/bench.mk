# mk/bench.mk -- 'make bench': the cost of the firewall (bench/run.sh).
# Included from the top-level Makefile by '-include mk/*.mk'.  Uses the
# installed library; run 'make install' first.  BENCH_QUICK=1 for a short run.
.PHONY: bench
bench:
	PG_CONFIG=$(PG_CONFIG) bash bench/run.sh
