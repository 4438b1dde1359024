import Foundation

/// A model file behind one call: the four inputs of one request (k candidate slots) -> k scores.
public protocol ScoringModel {
    func score(_ inputs: Encoded) throws -> [Float]
}

/// fallback.json.
public struct FallbackTable {
    let segments: [(column: Int, divisor: Int)]
    let globalRate: Double
    let itemRates: [String: Double]
    let segmentRates: [String: [String: Double]]

    public init(json data: Data) throws {
        let o = try object(try JSONSerialization.jsonObject(with: data), "fallback.json")
        func rates(_ r: Any?) -> [String: Double] { (r as? [String: NSNumber] ?? [:]).mapValues { $0.doubleValue } }
        segments = (o["segments"] as? [[String: Any]] ?? []).map { (int($0["column"]) ?? 0, int($0["divisor"]) ?? 1) }
        globalRate = (o["global_rate"] as? NSNumber)?.doubleValue ?? 0
        itemRates = rates(o["item_rates"])
        segmentRates = (o["segment_rates"] as? [String: Any] ?? [:]).mapValues { rates($0) }
    }

    /// Each candidate's rate as the score rules.json adds to: log(r / (1 - r)), r clamped to [1e-6, 1 - 1e-6]; a
    /// segment's rate, else the item's, else the global rate. Any n: no model call.
    public func scores(_ request: RawRequest, _ encoder: Encoder) throws -> [Double] {
        let context = try encoder.features.context.map { try encoder.contextId($0, request) }
        let key = segments.map { String(Int(floor(Double(context[$0.column]) / Double($0.divisor)))) }
            .joined(separator: ",")
        let segment = segmentRates[key] ?? [:]
        return try request.items.map { item in
            let id = String(try encoder.itemId(item))
            let r = min(max(segment[id] ?? itemRates[id] ?? globalRate, 1e-6), 1 - 1e-6)
            return log(r / (1 - r))
        }
    }
}

/// The data files of a bundle a client reads (the model file is the scoring model's business).
public struct Bundle {
    public let features: Features
    public let vocabularies: [String: [String]]
    public let rules: RuleSet
    public let fallback: FallbackTable?

    /// read(name): a file's bytes, or nil when the bundle lacks it (rules.json and fallback.json are optional).
    public init(read: (String) -> Data?) throws {
        guard let f = read("features.json") else { throw BundleError(message: "features.json: missing") }
        guard let v = read("vocabularies.json") else { throw BundleError(message: "vocabularies.json: missing") }
        features = try Features(json: f)
        vocabularies = try parseVocabularies(json: v)
        if let r = read("rules.json") {
            let o = try object(try JSONSerialization.jsonObject(with: r), "rules.json")
            rules = RuleSet(json: o["rules"] as? [String: Any] ?? [:])
        } else {
            rules = .none
        }
        fallback = try read("fallback.json").map { try FallbackTable(json: $0) }
    }
}

public struct Ranking {
    public let items: [RawValue]
    public let scores: [Float]?
    public let by: String  // "model", "fallback.json" or "given order"
    public let reason: String?
}

/// Ranks raw requests with a bundle's model (any n: calls of k merged, features.json candidates.merge), then
/// rules.json; when the model is missing or a call fails, fallback.json under the same rules, else the given
/// order under the rules.
public final class Ranker {
    public let bundle: Bundle
    public let model: ScoringModel?
    public let encoder: Encoder

    public init(bundle: Bundle, model: ScoringModel?) throws {
        self.bundle = bundle
        self.model = model
        encoder = try Encoder(features: bundle.features, vocabularies: bundle.vocabularies)
    }

    /// The model's score of every candidate: one call per k, padded slots dropped.
    public func score(_ request: RawRequest) throws -> [Float] {
        guard let model = model else { throw BundleError(message: "no model") }
        return try encoder.calls(request).flatMap { call in
            Array(try model.score(try encoder.encode(call)).prefix(call.items.count))
        }
    }

    public func rank(_ request: RawRequest) -> Ranking {
        do {
            let scores = try score(request)
            return Ranking(items: try order(scores.map(Double.init), request), scores: scores, by: "model", reason: nil)
        } catch {
            let (items, by) = fallback(request)
            return Ranking(items: items, scores: nil, by: by, reason: String(describing: error))
        }
    }

    /// fallback.json's ranking under the rules; the given order under the rules when there is no table or it
    /// cannot rank this request either.
    public func fallback(_ request: RawRequest) -> ([RawValue], String) {
        if let table = bundle.fallback, let scores = try? table.scores(request, encoder),
           let items = try? order(scores, request) {
            return (items, "fallback.json")
        }
        let items = (try? order([Double](repeating: 0, count: request.items.count), request)) ?? request.items
        return (items, "given order")
    }

    private func order(_ scores: [Double], _ request: RawRequest) throws -> [RawValue] {
        try applyRules(bundle.rules, scores, request, encoder).map { request.items[$0] }
    }
}

/// Shadow mode: the current release's ranking is shown, the candidate's is computed for the same request and logged
/// beside it (RequestInfo.shadow), never shown. A candidate failure leaves the shown ranking as it is.
public func rankWithShadow(current: Ranker, candidate: Ranker,
                           _ request: RawRequest) -> (shown: Ranking, shadow: Ranking) {
    (current.rank(request), candidate.rank(request))
}
