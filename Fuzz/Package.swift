// swift-tools-version: 6.0
// Fuzz targets for the log reader, the pipeline, catalog and profile loaders, a shard's part.json and the
// exporters' inputs (report.json, `plan --json`) (libFuzzer). A package of its own,
// so that the main build never needs it. `make fuzz` builds them with
// `-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library` (as swift-protobuf's FuzzTesting does) and runs them.
import PackageDescription

/// What every target checks of an input lives in the main package (`InferLineFuzzChecks`), where `make test` runs
/// the same checks on the seed corpus.
let checks: Target.Dependency = .product(name: "InferLineFuzzChecks", package: "inferline")

let package = Package(
  name: "inferline-fuzz",
  dependencies: [.package(name: "inferline", path: "..")],
  targets: [
    .executableTarget(name: "FuzzLogReader", dependencies: ["FuzzSupport", checks]),
    .executableTarget(name: "FuzzPipelineFiles", dependencies: ["FuzzSupport", checks]),
    .executableTarget(name: "FuzzPartFile", dependencies: ["FuzzSupport", checks]),
    .executableTarget(name: "FuzzExporters", dependencies: ["FuzzSupport", checks]),
    .target(name: "FuzzSupport"),
  ]
)
