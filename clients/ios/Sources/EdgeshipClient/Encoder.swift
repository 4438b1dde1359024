import Foundation

func floorMod(_ a: Int64, _ b: Int64) -> Int64 { ((a % b) + b) % b }

/// features.json's time rule: the hour ("hour") or weekday column of a unix time, in UTC.
public func timeId(_ name: String, _ timestamp: Double) -> Int {
    let t = Int64(timestamp.rounded(.down))
    let days = t >= 0 ? t / 86_400 : (t - 86_399) / 86_400
    let hours = t >= 0 ? t / 3_600 : (t - 3_599) / 3_600
    return Int(name == "hour" ? floorMod(hours, 24) : floorMod(days + 3, 7))
}

/// A raw request -> the model's four inputs, exactly as features.json says (checked by the conformance suite).
public final class Encoder {
    public let features: Features
    private var lookups: [String: ([String: Int], Int)] = [:]

    public init(features: Features, vocabularies: [String: [String]]) throws {
        self.features = features
        for v in features.context.map({ $0.vocabulary }) + [features.items.vocabulary] {
            guard let v = v else { continue }
            guard let values = vocabularies[v.field] else {
                throw BundleError(message: "vocabularies.json has no field \(v.field)")
            }
            var ids: [String: Int] = [:]
            for (i, s) in values.enumerated() where ids[s] == nil { ids[s] = v.first + i }
            lookups[v.field] = (ids, v.oov)
        }
    }

    private func hashed(_ value: Any, _ field: String, offset: Int, buckets: Int) throws -> Int {
        let h = fnv1a32(try canonical(value, field: field), offsetBasis: features.offsetBasis, prime: features.prime)
        return offset + Int(h % UInt32(buckets - offset))
    }

    private func lookup(_ vocabulary: String, _ value: Any, _ field: String) throws -> Int {
        let (ids, oov) = lookups[vocabulary]!
        return ids[try canonical(value, field: field)] ?? oov
    }

    public func contextId(_ column: ContextColumn, _ request: RawRequest) throws -> Int {
        switch column.kind {
        case "constant": return 0
        case "time":
            guard let t = request.timestamp else { throw ContractError(code: "missing_timestamp", field: column.name) }
            return timeId(column.name, t)
        default:
            guard let value = request.context[column.source], !(value is NSNull) else {
                throw ContractError(code: "missing_context", field: column.source)
            }
            switch column.kind {
            case "index": return try indexId(value, size: column.size, field: column.source)
            case "hash": return try hashed(value, column.source, offset: column.offset!, buckets: column.buckets!)
            default: return try lookup(column.vocabulary!.field, value, column.source)
            }
        }
    }

    public func itemId(_ item: Any) throws -> Int {
        let rule = features.items
        switch rule.kind {
        case "index": return try indexId(item, size: rule.size, field: "item")
        case "hash": return try hashed(item, "item", offset: rule.offset!, buckets: rule.buckets!)
        default: return try lookup(rule.vocabulary!.field, item, "item")
        }
    }

    public func feature(_ f: NumericFeature, _ raw: [String: Any]) throws -> Float {
        if f.constant { return 0 }
        guard let value = raw[f.name], !isBool(value), let x = (value as? NSNumber)?.doubleValue ?? (value as? Double),
              x.isFinite else { throw ContractError(code: "missing_feature", field: f.name) }
        let z = (x - f.mean) * f.scale  // float64, then stored as float32, as every client does
        guard let clip = f.clip else { return Float(z) }
        return Float(min(max(z, -clip), clip))
    }

    private func checkLengths(_ request: RawRequest) throws {
        let n = request.items.count
        if request.features.count != n { throw ContractError(code: "length_mismatch", field: "features") }
        if !request.attributes.isEmpty && request.attributes.count != n {
            throw ContractError(code: "length_mismatch", field: "attributes")
        }
    }

    /// One call's tensors: at most k candidates.
    public func encode(_ request: RawRequest) throws -> Encoded {
        let k = features.k, h = features.historyLength, d = features.candidateFeatures.count, n = request.items.count
        if n > k { throw ContractError(code: "too_many_candidates", field: "items") }
        try checkLengths(request)
        let context = try features.context.map { Int32(try contextId($0, request)) }
        var history = [Int32](repeating: Int32(features.items.padding), count: h)
        for (i, item) in request.history.prefix(h).enumerated() { history[i] = Int32(try itemId(item)) }
        var candidates = [Int32](repeating: Int32(features.items.padding), count: k)
        for (i, item) in request.items.enumerated() { candidates[i] = Int32(try itemId(item)) }
        var values = [Float](repeating: 0, count: k * d)  // padding slots stay 0.0
        for (slot, raw) in request.features.enumerated() {
            for (j, f) in features.candidateFeatures.enumerated() { values[slot * d + j] = try feature(f, raw) }
        }
        return Encoded(context: context, history: history, candidates: candidates, candidateFeatures: values)
    }

    /// features.json candidates.merge: the request in calls of at most k candidates, in the given order.
    public func calls(_ request: RawRequest) throws -> [RawRequest] {
        try checkLengths(request)
        let k = features.k, n = request.items.count
        return stride(from: 0, to: max(n, 1), by: k).map { s in
            let e = min(s + k, n), b = min(s, n)
            var call = request
            call.items = Array(request.items[b..<e])
            call.features = Array(request.features[b..<e])
            call.attributes = request.attributes.isEmpty ? [] : Array(request.attributes[b..<e])
            return call
        }
    }

    /// The context as rules.json's `when` reads it: column name -> canonical value (time columns: their number).
    public func contextByName(_ request: RawRequest) throws -> [String: String] {
        var out: [String: String] = [:]
        for c in features.context {
            switch c.kind {
            case "time": if let t = request.timestamp { out[c.name] = String(timeId(c.name, t)) }
            case "constant": break
            default:
                if let v = request.context[c.source], !(v is NSNull) { out[c.name] = try canonical(v, field: c.source) }
            }
        }
        return out
    }
}
