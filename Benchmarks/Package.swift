// swift-tools-version: 6.0
// The performance harnesses, in release mode: `swift run -c release --package-path Benchmarks inferline-bench --help`
// (the Makefile's bench-* targets). A package of its own, as Fuzz/ is, so that `make test` never builds them.
import PackageDescription

let package = Package(
  name: "inferline-benchmarks",
  dependencies: [.package(name: "inferline", path: "..")],
  targets: [
    .executableTarget(
      name: "inferline-bench",
      dependencies: [
        .product(name: "InferLine", package: "inferline"), .product(name: "InferLineNight", package: "inferline"),
      ],
      path: "InferLineBenchmarks",
      swiftSettings: [
        .swiftLanguageMode(.v6),
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .enableUpcomingFeature("InternalImportsByDefault"),
      ])
  ]
)
