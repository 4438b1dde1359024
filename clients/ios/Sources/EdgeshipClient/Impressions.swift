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

/// Batches the log's lines for a sink the app owns (a file append, an HTTP POST): lines leave in order, `batch` at a
/// time or on flush(); a sink that throws keeps its lines queued, in front, for the next flush; past `maxLines`
/// queued the oldest are dropped and counted. Thread-safe; the sink runs outside the lock.
public final class ImpressionLogger {
    private let sink: (String) throws -> Void
    private let batch: Int
    private let maxLines: Int
    private let lock = NSLock()
    private var queue: [String] = []
    /// lines dropped because the queue was full
    public private(set) var dropped = 0

    public init(sink: @escaping (String) throws -> Void, batch: Int = 100, maxLines: Int = 10_000) {
        self.sink = sink
        self.batch = batch
        self.maxLines = maxLines
    }

    public var pending: Int {
        lock.lock()
        defer { lock.unlock() }
        return queue.count
    }

    public func log(_ events: [[String: Any]]) throws {
        let lines = try events.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        lock.lock()
        queue.append(contentsOf: lines)
        trim()
        let full = queue.count >= batch
        lock.unlock()
        if full { _ = flush() }
    }

    /// true when every queued line reached the sink
    @discardableResult
    public func flush() -> Bool {
        lock.lock()
        let lines = queue
        queue.removeAll()
        lock.unlock()
        if lines.isEmpty { return true }
        do {
            try sink(lines.joined(separator: "\n") + "\n")
            return true
        } catch {
            lock.lock()
            queue.insert(contentsOf: lines, at: 0)
            trim()
            lock.unlock()
            return false
        }
    }

    private func trim() {
        let over = queue.count - maxLines
        if over > 0 {
            queue.removeFirst(over)
            dropped += over
        }
    }
}
