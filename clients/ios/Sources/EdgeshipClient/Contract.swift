import Foundation

/// The features.json versions this package reads.
public let supportedContractVersions = [2]

/// A raw request the contract cannot encode: `code` is one of features.json's `errors`, `field` names what is wrong.
public struct ContractError: Error, Equatable {
    public let code: String
    public let field: String

    public init(code: String, field: String) {
        self.code = code
        self.field = field
    }
}

/// A bundle this package cannot read (another contract version, a missing or malformed file).
public struct BundleError: Error {
    public let message: String

    public init(message: String) {
        self.message = message
    }
}

public struct VocabularyRef { let field: String; let first: Int; let oov: Int }

public struct ContextColumn {
    public let column: Int, name: String, source: String, kind: String, size: Int
    let vocabulary: VocabularyRef?
    let buckets: Int?
    let offset: Int?
}

public struct ItemRule {
    public let kind: String, size: Int, padding: Int
    let vocabulary: VocabularyRef?
    let buckets: Int?
    let offset: Int?
}

public struct NumericFeature {
    public let index: Int, name: String, mean: Double, scale: Double, clip: Double?, constant: Bool
}

public struct InputRecord { public let name: String, dtype: String, shape: [Int] }

/// One shipped file's tensors (features.json `files`): its inputs in its own positional order, its output.
public struct FileIO { public let inputs: [InputRecord], output: InputRecord }

typealias JSON = [String: Any]

func object(_ any: Any?, _ what: String) throws -> JSON {
    guard let o = any as? JSON else { throw BundleError(message: "\(what): expected an object") }
    return o
}

func int(_ any: Any?) -> Int? { (any as? NSNumber)?.intValue }

private func vocabulary(_ o: JSON) -> VocabularyRef? {
    guard let v = o["vocabulary"] as? JSON, let field = v["field"] as? String, let first = int(v["first"]),
          let oov = int(v["oov"]) else { return nil }
    return VocabularyRef(field: field, first: first, oov: oov)
}

/// features.json: the raw-input contract (the parts a client needs).
public struct Features {
    public let schemaVersion: Int
    public let inputs: [InputRecord]
    public let files: [String: FileIO]
    public let context: [ContextColumn]
    public let items: ItemRule
    public let historyLength: Int
    public let candidateFeatures: [NumericFeature]
    public let k: Int
    public let output: String
    let offsetBasis: UInt32
    let prime: UInt32

    /// Parses features.json; refuses a contract version this package does not read.
    public init(json data: Data) throws {
        let o = try object(try JSONSerialization.jsonObject(with: data), "features.json")
        guard let version = int(o["schema_version"]), supportedContractVersions.contains(version) else {
            throw BundleError(message: "features.json: schema_version \(o["schema_version"] ?? "none"); this client "
                              + "reads \(supportedContractVersions)")
        }
        schemaVersion = version
        func record(_ t: JSON) -> InputRecord {
            InputRecord(name: t["name"] as? String ?? "", dtype: t["dtype"] as? String ?? "",
                        shape: (t["shape"] as? [NSNumber] ?? []).map { $0.intValue })
        }
        inputs = (o["inputs"] as? [JSON] ?? []).map(record)
        files = (o["files"] as? [String: JSON] ?? [:]).mapValues {
            FileIO(inputs: ($0["inputs"] as? [JSON] ?? []).map(record), output: record($0["output"] as? JSON ?? [:]))
        }
        context = (o["context"] as? [JSON] ?? []).map {
            ContextColumn(column: int($0["column"]) ?? 0, name: $0["name"] as? String ?? "",
                          source: $0["source"] as? String ?? "", kind: $0["kind"] as? String ?? "",
                          size: int($0["size"]) ?? 0, vocabulary: vocabulary($0), buckets: int($0["buckets"]),
                          offset: int($0["offset"]))
        }
        let i = try object(o["items"], "features.json: items")
        items = ItemRule(kind: i["kind"] as? String ?? "", size: int(i["size"]) ?? 0, padding: int(i["padding"]) ?? 0,
                         vocabulary: vocabulary(i), buckets: int(i["buckets"]), offset: int(i["offset"]))
        historyLength = int((o["history"] as? JSON)?["length"]) ?? 0
        candidateFeatures = (o["candidate_features"] as? [JSON] ?? []).map {
            NumericFeature(index: int($0["index"]) ?? 0, name: $0["name"] as? String ?? "",
                           mean: ($0["mean"] as? NSNumber)?.doubleValue ?? 0,
                           scale: ($0["scale"] as? NSNumber)?.doubleValue ?? 1,
                           clip: ($0["clip"] as? NSNumber)?.doubleValue, constant: $0["constant"] as? Bool ?? false)
        }
        k = int((o["candidates"] as? JSON)?["k"]) ?? 0
        output = (o["output"] as? JSON)?["name"] as? String ?? "scores"
        let hash = try object(o["hash"], "features.json: hash")
        offsetBasis = UInt32(truncatingIfNeeded: (hash["offset_basis"] as? NSNumber)?.int64Value ?? 0)
        prime = UInt32(truncatingIfNeeded: (hash["prime"] as? NSNumber)?.int64Value ?? 0)
    }
}

/// vocabularies.json: field name -> its values.
public func parseVocabularies(json data: Data) throws -> [String: [String]] {
    let o = try object(try JSONSerialization.jsonObject(with: data), "vocabularies.json")
    var out: [String: [String]] = [:]
    for f in o["fields"] as? [JSON] ?? [] {
        if let name = f["name"] as? String { out[name] = f["values"] as? [String] ?? [] }
    }
    return out
}

/// A raw value as an app holds it: a String, a number (Int, Double, NSNumber) or a Bool, read by
/// features.json's raw_values.canonical.
public typealias RawValue = Any

/// A request as an app holds it.
public struct RawRequest {
    public var items: [RawValue]
    public var features: [[String: Any]]
    public var context: [String: Any]
    public var timestamp: Double?
    public var history: [RawValue]
    public var attributes: [[String: String]]

    public init(items: [RawValue], features: [[String: Any]], context: [String: Any], timestamp: Double? = nil,
                history: [RawValue] = [], attributes: [[String: String]] = []) {
        self.items = items; self.features = features; self.context = context; self.timestamp = timestamp
        self.history = history; self.attributes = attributes
    }
}

/// The four inputs of one call, batch dimension dropped (row-major).
public struct Encoded {
    public let context: [Int32]
    public let history: [Int32]
    public let candidates: [Int32]
    public let candidateFeatures: [Float]
}
