// swift-tools-version:6.1
//
// Triage: classical text classification for customer-service messages.
// Targets (arrows point down only; see ../shared/DESIGN.md and README.md):
//
//   TriageCore   sparse matrices, deterministic parallelism, strict JSON   (Foundation only)
//   TriageText   analyzers, Snowball stemming, CountVectorizer, TF-IDF     (Foundation + libstemmer)
//   TriageData   streaming CSV (RFC 4180, gzip) and message sources          (Foundation + zlib)
//   TriageBoost  histogram gradient-boosted trees on sparse features         (Foundation only)
//   TriageLinear logistic regression, linear SVM, naive Bayes on sparse rows  (Foundation + C kernels)
//   CTriageKernels  sparse scoring in C, AVX2 when the CPU has it (bit-identical to the scalar loop)
//   TriageModel  the pipeline: text → features → classifier; predictions     (Foundation only)
//   TriageArtifact  signed JSON model files (Ed25519); the only user of swift-crypto
//   TriageServer the HTTP endpoint (Hummingbird 2) and the SQLite prediction log
//   triage       the command line (swift-argument-parser)
//   triage-bench the benchmark runner that scripts/bench drives
//
// Packages are pinned with `exact:` because Package.resolved is not committed.
import PackageDescription

let package = Package(
    name: "Triage",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TriageText", targets: ["TriageText"]),
        .library(name: "TriageModel", targets: ["TriageModel"]),
        .library(name: "TriageArtifact", targets: ["TriageArtifact"]),
    ],
    dependencies: [
        // Hummingbird's graph resolves swift-crypto 4.5.2 too; pinned exactly (no Package.resolved).
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        // Already in Hummingbird's graph; named because TriageServer uses their types directly.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        // GET /metrics: Prometheus's text format, written by swift-prometheus.
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        .systemLibrary(name: "CStemmer", providers: [.apt(["libstemmer-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // The inner loops that need the machine's vector width (AVX2 chosen at run time).
        .target(name: "CTriageKernels"),
        .target(name: "TriageCore", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "TriageText", dependencies: ["TriageCore", "CStemmer"]),
        .target(name: "TriageData", dependencies: ["TriageCore", "CZlib", "CSQLite"]),
        .target(name: "TriageBoost", dependencies: ["TriageCore"]),
        .target(name: "TriageLinear", dependencies: ["TriageCore", "CTriageKernels"]),
        .target(name: "TriageModel", dependencies: ["TriageCore", "TriageText", "TriageBoost", "TriageLinear"]),
        .target(name: "TriageArtifact", dependencies: [
            "TriageModel", "TriageCore", "TriageText", "TriageBoost", "TriageLinear",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "TriageFuzzing", dependencies: [
            "TriageArtifact", "TriageServer", "TriageText", "TriageData",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .target(name: "TriageServer", dependencies: [
            "TriageArtifact", "TriageModel", "TriageData", "TriageCore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "triage", dependencies: [
            "TriageArtifact", "TriageModel", "TriageData", "TriageCore", "TriageServer", "TriageBoost", "TriageLinear",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // A C main: libFuzzer's driver under scripts/fuzz, a file replayer otherwise.
        .executableTarget(name: "triage-fuzz", dependencies: ["TriageFuzzing"]),
        .executableTarget(name: "triage-bench", dependencies: ["TriageText", "TriageData", "TriageBoost", "TriageModel", "TriageLinear", "TriageArtifact"], path: "Sources/TriageBench"),
        .testTarget(name: "TriageCoreTests", dependencies: ["TriageCore"]),
        .testTarget(name: "TriageFuzzingTests", dependencies: ["TriageFuzzing"]),
        .testTarget(name: "TriageDataTests", dependencies: ["TriageData", "TriageCore"], exclude: ["Fixtures"]),
        .testTarget(name: "TriageBoostTests", dependencies: ["TriageBoost", "TriageCore"]),
        .testTarget(name: "TriageLinearTests", dependencies: ["TriageLinear", "TriageCore", "CTriageKernels"], exclude: ["Fixtures"]),
        .testTarget(name: "TriageModelTests", dependencies: ["TriageModel", "TriageText", "TriageBoost", "TriageLinear", "TriageData", "TriageCore"], exclude: ["Fixtures"]),
        .testTarget(
            name: "TriageArtifactTests",
            dependencies: ["TriageArtifact", "TriageModel", "TriageBoost", "TriageLinear", "TriageText", "TriageData", "TriageCore"],
            exclude: ["Fixtures"]
        ),
        // Test helpers shared by test targets (a raw HTTP/1.1 client over a real socket).
        .target(name: "TriageTestSupport", dependencies: ["TriageCore"], path: "Tests/TriageTestSupport"),
        .testTarget(name: "TriageServerTests", dependencies: [
            "TriageServer", "TriageArtifact", "TriageModel", "TriageText", "TriageBoost", "TriageData", "TriageCore", "TriageTestSupport",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // End-to-end: runs the built `triage` binary on files the tests write.
        .testTarget(name: "TriageCLITests", dependencies: ["triage", "TriageCore", "TriageData", "TriageTestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "TriageTextTests",
            dependencies: ["TriageText", "TriageCore"],
            exclude: ["Fixtures"]  // read from the source tree by path (see TestSupport.swift)
        ),
    ]
)
