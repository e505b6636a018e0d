// swift-tools-version: 6.0
// Fuzz targets for the log reader, the pipeline, catalog and profile loaders, a shard's part.json and the
// exporters' inputs (report.json, `plan --json`) (libFuzzer). A package of its own,
// so that the main build never needs it. `make fuzz` builds them with
// `-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library` (as swift-protobuf's FuzzTesting does) and runs them.
import PackageDescription

let package = Package(
  name: "inferline-fuzz",
  dependencies: [.package(name: "inferline", path: "..")],
  targets: [
    .executableTarget(
      name: "FuzzLogReader", dependencies: ["FuzzSupport", .product(name: "InferLine", package: "inferline")]),
    .executableTarget(
      name: "FuzzPipelineFiles", dependencies: ["FuzzSupport", .product(name: "InferLine", package: "inferline")]),
    .executableTarget(
      name: "FuzzPartFile",
      dependencies: [
        "FuzzSupport", .product(name: "InferLine", package: "inferline"),
        .product(name: "InferLineReport", package: "inferline"),
      ]),
    .executableTarget(
      name: "FuzzExporters",
      dependencies: [
        "FuzzSupport", .product(name: "InferLine", package: "inferline"),
        .product(name: "InferLineReport", package: "inferline"),
      ]),
    .target(name: "FuzzSupport"),
  ]
)
