import Foundation

// The impression log a client writes (JSON Lines; schemas/impressions.schema.json; docs/releases.md): for one ranked
// request its request event and one impression per shown item with the propensity the exploration policy gave it;
// a tap event later. One JSON object per line (JSONSerialization; NSNull for null).

public struct RequestInfo {
    public var requestId: String
    public var user: String
    public var arm: String
    public var policy: String  // "model", "fallback" or "given"
    public var timestamp: Double
    public var modelVersion: String?
    public var epsilon: Double?
    public var latencyMs: Double?
    public var error: String?
    /// the raw request as ranked, for `edgeship evaluate` and `edgeship train`
    public var request: [String: Any]?
    /// shadow mode: the candidate model's version and its ranking of the same request (scored, never shown)
    public var shadow: (modelVersion: String?, items: [RawValue])?
    /// the user's rollout bucket (bucket(user, salt)) under the newest installed release's salt
    public var bucket: Double?

    public init(requestId: String, user: String, arm: String, policy: String, timestamp: Double,
                modelVersion: String? = nil, epsilon: Double? = nil, latencyMs: Double? = nil, error: String? = nil,
                request: [String: Any]? = nil, shadow: (modelVersion: String?, items: [RawValue])? = nil,
                bucket: Double? = nil) {
        self.requestId = requestId
        self.user = user
        self.arm = arm
        self.policy = policy
        self.timestamp = timestamp
        self.modelVersion = modelVersion
        self.epsilon = epsilon
        self.latencyMs = latencyMs
        self.error = error
        self.request = request
        self.shadow = shadow
        self.bucket = bucket
    }
}

private func orNull(_ x: Any?) -> Any { x ?? NSNull() }

public func requestEvents(_ info: RequestInfo, items: [RawValue], slate: Slate) throws -> [[String: Any]] {
    var head: [String: Any] = [
        "event": "request", "request_id": info.requestId, "user": info.user, "arm": info.arm,
        "bucket": orNull(info.bucket), "policy": info.policy,
        "timestamp": info.timestamp, "model_version": orNull(info.modelVersion), "epsilon": orNull(info.epsilon),
        "slots": slate.shown.count, "latency_ms": orNull(info.latencyMs), "error": orNull(info.error)]
    if let request = info.request { head["request"] = request }
    if let shadow = info.shadow {
        head["shadow"] = ["model_version": orNull(shadow.modelVersion),
                          "items": try shadow.items.prefix(slate.shown.count).map { try canonical($0, field: "items") }]
    }
    return [head] + (try slate.shown.enumerated().map { k, i in
        ["event": "impression", "request_id": info.requestId, "position": k,
         "item": try canonical(items[i], field: "items"), "propensity": slate.propensities[k],
         "explored": slate.explored] as [String: Any]
    })
}

public func tapEvent(requestId: String, item: RawValue, timestamp: Double? = nil) throws -> [String: Any] {
    ["event": "tap", "request_id": requestId, "item": try canonical(item, field: "items"),
     "timestamp": orNull(timestamp)]
}
