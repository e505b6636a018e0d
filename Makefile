# The two commands a new user needs (both run the set-up first):
#   make report   a report from the sample traces, into Reports/sample/
#   make test     the test suite
SHELL := /bin/bash
CONFIG ?= release

.PHONY: setup report test fuzz bench-ingest bench-envelope bench-estimator bench-event-simulator bench-planner bench-planner-day bench-replay bench-replay-day bench-report bench-history bench-spans bench-sizes bench-shards clean

setup:
	@Scripts/setup.sh --no-build

report: setup
	@swift build -c $(CONFIG) --product inferline
	@Scripts/sample-report.sh "$$(swift build -c $(CONFIG) --show-bin-path)/inferline"

# The suite includes a seeded round of every fuzz target's checks on its seed corpus and 2,000 mutations of it
# (FuzzCorpusTests); `make fuzz` runs the sanitised libFuzzer targets themselves.
test: setup
	swift test

# Fuzz the log reader, the pipeline/catalog/profile loaders, the merge's part.json reader and the exporters' inputs
# with libFuzzer (Fuzz/, a package of its own),
# each for FUZZ_SECONDS (default 30) or FUZZ_RUNS inputs, whichever ends first, from the seed corpus in
# Fuzz/Corpus with seed FUZZ_SEED; a finding fails the target and is saved in Fuzz/findings/. What each target
# checks of an input is `InferLineFuzzChecks` (Sources/), which `make test` also runs on the corpus.
FUZZ_SECONDS ?= 30
FUZZ_RUNS ?= -1
FUZZ_SEED ?= 1
fuzz: setup
	cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	mkdir -p Fuzz/findings
	for t in FuzzLogReader:logs FuzzPipelineFiles:pipelines FuzzPartFile:parts FuzzExporters:exports; do \
	  corpus=$$(mktemp -d); \
	  ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no Fuzz/.build/release/$${t%%:*} $$corpus Fuzz/Corpus/$${t##*:} \
	    -max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_RUNS) -seed=$(FUZZ_SEED) -timeout=10 \
	    -artifact_prefix=Fuzz/findings/ -print_final_stats=1 2>&1 | grep -E '^(Done|stat::number_of_executed_units|==[0-9]+==|SUMMARY|Fatal|.*precondition)' ; \
	  status=$${PIPESTATUS[0]}; rm -rf $$corpus; [ $$status -eq 0 ] || { echo "fuzz: $${t%%:*} found a problem (see Fuzz/findings/)"; exit 1; }; \
	done

bench-ingest: setup
	@Benchmarks/ingest.sh

bench-envelope: setup
	swift run -c release --package-path Benchmarks inferline-bench envelope

bench-estimator: setup
	swift run -c release --package-path Benchmarks inferline-bench estimator

# The event-driven simulator on what only it runs (per-replica queues, a serverless tier, random service, a join,
# closed loop), with checksums of the results to compare two builds side by side.
bench-event-simulator: setup
	swift run -c release --package-path Benchmarks inferline-bench event-simulator

bench-planner: setup
	swift run -c release --package-path Benchmarks inferline-bench planner

bench-planner-day: setup
	swift run -c release --package-path Benchmarks inferline-bench planner-day

bench-replay: setup
	swift run -c release --package-path Benchmarks inferline-bench replay

bench-replay-day: setup
	swift run -c release --package-path Benchmarks inferline-bench replay-day 20
	swift run -c release --package-path Benchmarks inferline-bench replay-day 200 image-processing video-monitoring Benchmarks/four-stage.yaml

bench-report: setup
	@Benchmarks/report.sh

bench-spans: setup
	swift run -c release --package-path Benchmarks inferline-bench spans

bench-sizes: setup
	swift run -c release --package-path Benchmarks inferline-bench sizes

bench-history: setup
	@Benchmarks/history.sh

bench-shards: setup
	@[ -f Benchmarks/data/diurnal-200qps-24h.csv.gz ] || { swift build -c release --product inferline && mkdir -p Benchmarks/data && "$$(swift build -c release --show-bin-path)/inferline" generate --process diurnal --rate 200 --peak-to-trough 4 --duration 1d --seed 21 --gzip --out Benchmarks/data/diurnal-200qps-24h.csv.gz; }
	@Benchmarks/shards.sh Benchmarks/data/diurnal-200qps-24h.csv.gz SampleTraces/pipelines/video-monitoring.yaml 2 4
	@Benchmarks/shards.sh SampleTraces/logs/fleet-day.csv.gz "SampleTraces/pipelines/video-monitoring.yaml SampleTraces/pipelines/social-media.yaml" 2 4

clean:
	rm -rf .build Reports/sample
