// swift-tools-version: 6.0
import PackageDescription

/// Settings shared by every Swift target: Swift 6 mode with the upcoming features our style guide asks for.
let swiftSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
  .enableUpcomingFeature("InternalImportsByDefault"),
  // Invariant checks (event order, cost order of the search, ...) in debug builds and so in the tests; release
  // builds leave them out.
  .define("INFERLINE_INVARIANTS", .when(configuration: .debug)),
]

/// The engine is compiled optimised in debug builds too: the test suite spends its time in the simulator and the
/// planner, which run about ten times faster so (invariant checks stay on). `INFERLINE_UNOPTIMIZED=1 swift build`
/// gives an engine to step through in a debugger.
let engineSettings: [SwiftSetting] =
  swiftSettings
  + (Context.environment["INFERLINE_UNOPTIMIZED"] == nil ? [.unsafeFlags(["-O"], .when(configuration: .debug))] : [])

let package = Package(
  name: "inferline",
  products: [
    .library(name: "InferLine", targets: ["InferLine"]),
    .library(name: "InferLineNight", targets: ["InferLineNight"]),
    .library(name: "InferLineReport", targets: ["InferLineReport"]),
    .executable(name: "inferline", targets: ["inferline"]),
    // What each fuzz target checks of one input, for Fuzz/ and for the tests' seeded round.
    .library(name: "InferLineFuzzChecks", targets: ["InferLineFuzzChecks"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
  ],
  targets: [
    // C libraries, each behind one system-library target (module map + shim header).
    .systemLibrary(
      name: "CZlib", pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(
      name: "CCairo", pkgConfig: "cairo",
      providers: [.apt(["libcairo2-dev"])]),
    // Linux file-system calls for the report folder (atomic exchange, file locks).
    .systemLibrary(name: "CFileSystem"),
    // glibc's allocator settings (malloc arenas), made once at the command's start.
    .systemLibrary(name: "CMemory"),
    .systemLibrary(
      name: "CLibXML2", pkgConfig: "libxml-2.0",
      providers: [.apt(["libxml2-dev"])]),
    // PNG copies of the charts, written fast (Cairo's own writer tries every row filter at the default level).
    .systemLibrary(
      name: "CPNG", pkgConfig: "libpng",
      providers: [.apt(["libpng-dev"])]),
    // The PNG writer's pixel loop (Cairo's premultiplied ARGB to libpng's RGBA): C compiled optimised in debug
    // builds too, unlike C in a shim header, which takes the importing Swift module's -Onone.
    .target(
      name: "CPNGWriter", dependencies: ["CPNG"],
      cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
    // SHA-256 and HMAC-SHA256 (input digests, shard seals) from the system's OpenSSL.
    .systemLibrary(
      name: "CCrypto", pkgConfig: "libcrypto",
      providers: [.apt(["libssl-dev"])]),

    // The engine: ingestion, envelopes, pipelines, estimator, planner, tuner. Swift, plus zlib for gzip logs and
    // Yams (libyaml) for pipeline and hardware files.
    .target(
      name: "InferLine",
      dependencies: [
        "CZlib", .product(name: "Yams", package: "Yams"),
        .product(name: "HeapModule", package: "swift-collections"),
        .product(name: "DequeModule", package: "swift-collections"),
      ],
      swiftSettings: engineSettings),
    // What a night computes from the engine: the analysis stages, earlier nights, shards and exports. Not hot
    // (the engine's simulator and planner are), so debug builds leave it unoptimised and compile it in a third
    // of the time.
    .target(
      name: "InferLineNight",
      dependencies: ["InferLine", .product(name: "Yams", package: "Yams")],
      swiftSettings: swiftSettings),
    // Charts (Cairo), SVG post-processing (libxml2) and the HTML report.
    .target(
      name: "InferLineReport",
      dependencies: [
        "InferLine", "InferLineNight", "CCairo", "CLibXML2", "CFileSystem",
        .product(name: "Mustache", package: "swift-mustache"),
        "CCrypto", "CPNGWriter",
      ],
      swiftSettings: swiftSettings),
    // The command line: parse, call, print.
    .executableTarget(
      name: "inferline",
      dependencies: [
        "InferLine", "InferLineNight", "InferLineReport", "CFileSystem", "CMemory",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: swiftSettings),

    // The properties the fuzz targets (Fuzz/) check of each input; the tests run them on the seed corpus.
    .target(
      name: "InferLineFuzzChecks",
      dependencies: ["InferLine", "InferLineNight", "InferLineReport"],
      swiftSettings: swiftSettings),

    // What every test target shares: the temporary folder that removes itself.
    .target(name: "InferLineTestSupport", path: "Tests/Support", swiftSettings: swiftSettings),
    .testTarget(
      name: "InferLineTests",
      dependencies: ["InferLine", "InferLineNight", "InferLineTestSupport"],
      swiftSettings: swiftSettings),
    .testTarget(
      name: "InferLineReportTests",
      dependencies: [
        "InferLineReport", "InferLine", "InferLineNight", "InferLineFuzzChecks", "InferLineTestSupport", "CCairo",
      ],
      swiftSettings: swiftSettings),
    .testTarget(
      name: "InferLineCLITests",
      dependencies: ["InferLine", "InferLineNight", "InferLineReport", "inferline", "InferLineTestSupport"],
      exclude: ["Snapshots"],
      swiftSettings: swiftSettings),
  ]
)
