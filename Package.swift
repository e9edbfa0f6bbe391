// swift-tools-version:6.1
//
// Triage: classical text classification for customer-service messages.
// Targets (arrows point down only; see ../shared/DESIGN.md and README.md):
//
//   TriageCore   sparse matrices, deterministic parallelism, strict JSON   (Foundation only)
//   TriageText   analyzers, Snowball stemming, CountVectorizer, TF-IDF     (Foundation + libstemmer)
//
// Packages are pinned with `exact:` because Package.resolved is not committed.
import PackageDescription

let package = Package(
    name: "Triage",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TriageText", targets: ["TriageText"]),
    ],
    targets: [
        .systemLibrary(name: "CStemmer", providers: [.apt(["libstemmer-dev"])]),
        .target(name: "TriageCore"),
        .target(name: "TriageText", dependencies: ["TriageCore", "CStemmer"]),
        .testTarget(name: "TriageCoreTests", dependencies: ["TriageCore"]),
        .testTarget(
            name: "TriageTextTests",
            dependencies: ["TriageText", "TriageCore"],
            exclude: ["Fixtures"]  // read from the source tree by path (see TestSupport.swift)
        ),
    ]
)
