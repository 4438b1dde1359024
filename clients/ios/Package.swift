// swift-tools-version:5.9
// EdgeshipClient: edgeship bundles in Swift apps. The core (contract, rules, fallback, ranker) imports Foundation
// only; the Core ML scorer is a separate target behind the ScoringModel protocol.
import PackageDescription

let package = Package(
    name: "EdgeshipClient",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "EdgeshipClient", targets: ["EdgeshipClient"]),
        .library(name: "EdgeshipCoreML", targets: ["EdgeshipCoreML"]),
    ],
    targets: [
        .target(name: "EdgeshipClient"),
        .target(name: "EdgeshipCoreML", dependencies: ["EdgeshipClient"]),
        .testTarget(name: "EdgeshipClientTests", dependencies: ["EdgeshipClient"]),
    ]
)
