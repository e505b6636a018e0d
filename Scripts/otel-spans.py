#!/usr/bin/env python3
"""Writes the traces of a small video-monitoring schedule with the real OpenTelemetry Python SDK, for the tests.

Usage: otel-spans.py OUTPUT_FOLDER [QUERIES]

Each query is a trace: a root span "request" and a span per stage it visits ("ssd320.predict" for detect, "vehicle",
"person"), with explicit start and end times (nanoseconds since the epoch) from a fixed schedule. Writes, in
OUTPUT_FOLDER:
  console.json  the SDK's ConsoleSpanExporter output (pretty-printed JSON objects, one per span)
  otlp.jsonl    OTLP JSON, one ExportTraceServiceRequest per export batch and line, as the OpenTelemetry
                Collector's file exporter writes (the SDK's own OTLP encoder, then protobuf's JSON mapping)
  expected.csv  query,stage,start_ns,end_ns for every stage span, as scheduled
"""
import os
import sys

from google.protobuf.json_format import MessageToJson
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)


class OTLPJSONLinesExporter(SpanExporter):
    """One OTLP ExportTraceServiceRequest per export call, as a line of JSON."""

    def __init__(self, out):
        self.out = out

    def export(self, spans):
        self.out.write(MessageToJson(encode_spans(spans), indent=None) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self):
        self.out.flush()


def main():
    folder = sys.argv[1]
    queries = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    os.makedirs(folder, exist_ok=True)
    console = open(os.path.join(folder, "console.json"), "w")
    otlp = open(os.path.join(folder, "otlp.jsonl"), "w")
    expected = open(os.path.join(folder, "expected.csv"), "w")
    expected.write("query,stage,start_ns,end_ns\n")
    provider = TracerProvider(resource=Resource.create({"service.name": "video-monitoring"}))
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=console)))
    provider.add_span_processor(SimpleSpanProcessor(OTLPJSONLinesExporter(otlp)))
    tracer = provider.get_tracer("inferline-tests")
    origin = 1_764_000_000_000_000_000  # 2025-11-24, whole seconds
    for q in range(queries):
        # Arrivals 20 ms apart with a 7-step wobble; whole microseconds, so the console exporter's times are exact.
        arrival = origin + q * 20_000_000 + (q % 7) * 1_000_000
        detect = (arrival + 250_000, arrival + 250_000 + 30_000_000 + (q % 3) * 5_000_000)
        stages = [("detect", "ssd320.predict", detect)]
        if q % 5 < 3:  # 60% of the queries go on to the vehicle classifier
            start = detect[1] + 1_000_000
            stages.append(("vehicle", "vehicle", (start, start + 3_189_000)))
        if q % 10 < 3:  # 30% to the person classifier
            start = detect[1] + 1_000_000
            stages.append(("person", "person", (start, start + 16_098_000)))
        end = max(s[2][1] for s in stages) + 100_000
        root = tracer.start_span("request", start_time=arrival)
        context = trace.set_span_in_context(root)
        for stage, name, (start, stop) in stages:
            span = tracer.start_span(name, context=context, start_time=start, attributes={"model.stage": stage})
            span.end(end_time=stop)
            expected.write(f"{q},{stage},{start},{stop}\n")
        root.end(end_time=end)
    provider.shutdown()
    for f in (console, otlp, expected):
        f.close()


if __name__ == "__main__":
    main()
