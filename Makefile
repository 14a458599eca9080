# The README's two commands, and a few helpers. The scripts do the work.
.PHONY: demo test setup sizes bench fuzz mutants

demo:   ## set-up if needed, then broker + thingsim-cloud + app on http://127.0.0.1:8080
	@scripts/demo

test:   ## every check and test, as CI runs it
	@scripts/test

setup:  ## install what is missing (registries only)
	@scripts/setup

sizes:  ## release build sizes next to mqtt.js
	@scripts/sizes

bench:  ## throughput and size next to mqtt.js, printed
	@scripts/bench

fuzz:   ## fuzz every decoder on nightly (FUZZ_SECONDS=30 each)
	@scripts/fuzz $(or $(FUZZ_SECONDS),30)

mutants: ## mutation score of the pure crates (cargo-mutants; ~50 min, not in CI)
	@scripts/mutants
