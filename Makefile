# The two commands a new user needs (both run the set-up first):
#   make report   a report from the sample traces, into Reports/sample/
#   make test     the test suite
SHELL := /bin/bash
CONFIG ?= release

.PHONY: setup report test bench-ingest bench-envelope bench-estimator bench-planner bench-planner-day bench-replay bench-replay-day bench-report clean

setup:
	@Scripts/setup.sh --no-build

report: setup
	@swift build -c $(CONFIG) --product inferline
	@Scripts/sample-report.sh "$$(swift build -c $(CONFIG) --show-bin-path)/inferline"

test: setup
	swift test

bench-ingest: setup
	@Benchmarks/ingest.sh

bench-envelope: setup
	swift run -c release inferline-bench envelope

bench-estimator: setup
	swift run -c release inferline-bench estimator

bench-planner: setup
	swift run -c release inferline-bench planner

bench-planner-day: setup
	swift run -c release inferline-bench planner-day

bench-replay: setup
	swift run -c release inferline-bench replay

bench-replay-day: setup
	swift run -c release inferline-bench replay-day 20
	swift run -c release inferline-bench replay-day 200 image-processing video-monitoring Benchmarks/four-stage.yaml

bench-report: setup
	@Benchmarks/report.sh

clean:
	rm -rf .build Reports/sample
