import Foundation

public struct Match {
    let items: [String], attribute: String, values: [String], feature: String, min: Double?, max: Double?
}

/// rules.json's `rules`.
public struct RuleSet {
    var filter: [(match: Match, when: [String: [String]])] = []
    var boost: [(match: Match, by: Double, when: [String: [String]])] = []
    var pin: [(match: Match, within: Int)] = []
    var cap: [(attribute: String, max: Int, within: Int)] = []
    var run: [(attribute: String, max: Int, within: Int)] = []

    public static let none = RuleSet()

    /// rules.json's `rules` object, parsed.
    public init(json o: [String: Any]) {
        func match(_ m: Any?) -> Match {
            let m = m as? [String: Any] ?? [:]
            return Match(items: m["items"] as? [String] ?? [], attribute: m["attribute"] as? String ?? "",
                         values: m["values"] as? [String] ?? [], feature: m["feature"] as? String ?? "",
                         min: (m["min"] as? NSNumber)?.doubleValue, max: (m["max"] as? NSNumber)?.doubleValue)
        }
        func when(_ r: [String: Any]) -> [String: [String]] { r["when"] as? [String: [String]] ?? [:] }
        func rows(_ key: String) -> [[String: Any]] { o[key] as? [[String: Any]] ?? [] }
        func caps(_ key: String) -> [(attribute: String, max: Int, within: Int)] {
            rows(key).map { ($0["attribute"] as? String ?? "", int($0["max"]) ?? 0, int($0["within"]) ?? 0) }
        }
        filter = rows("filter").map { (match($0["match"]), when($0)) }
        boost = rows("boost").map { (match($0["match"]), ($0["by"] as? NSNumber)?.doubleValue ?? 0, when($0)) }
        pin = rows("pin").map { (match($0["match"]), int($0["within"]) ?? 0) }
        cap = caps("cap")
        run = caps("run")
    }

    init() {}
}

private func matches(_ m: Match, _ request: RawRequest, _ items: [String], _ i: Int) -> Bool {
    if !m.items.isEmpty && !m.items.contains(items[i]) { return false }
    if !m.attribute.isEmpty {
        guard i < request.attributes.count, let v = request.attributes[i][m.attribute], m.values.contains(v) else {
            return false
        }
    }
    if !m.feature.isEmpty {
        guard i < request.features.count, let value = request.features[i][m.feature], !isBool(value),
              let x = (value as? NSNumber)?.doubleValue ?? (value as? Double) else { return false }
        if let lo = m.min, x < lo { return false }
        if let hi = m.max, x > hi { return false }
    }
    return true
}

/// rules.json applied to scores (one per candidate), in its documented order: filter, boost, sort, pin, fill.
/// The candidates' indices best first, filtered ones left out. Scores and boosts add in float64.
public func applyRules(_ rules: RuleSet, _ scores: [Double], _ request: RawRequest, _ encoder: Encoder) throws -> [Int] {
    let context = try encoder.contextByName(request)
    let items = try request.items.map { try canonical($0, field: "item") }
    func holds(_ when: [String: [String]]) -> Bool {
        when.allSatisfy { column, values in context[column].map { values.contains($0) } ?? false }
    }
    let filters = rules.filter.filter { holds($0.when) }
    let kept = (0..<request.items.count).filter { i in !filters.contains { matches($0.match, request, items, i) } }
    let boosts = rules.boost.filter { holds($0.when) }
    var score: [Int: Double] = [:]
    for i in kept {
        var s = scores[i]
        for b in boosts where matches(b.match, request, items, i) { s += b.by }  // in the listed order
        score[i] = s
    }
    // equal scores keep the given order: ties broken by index (Swift's sort is not stable)
    let order = kept.sorted { a, b in score[a]! != score[b]! ? score[a]! > score[b]! : a < b }
    var slots = [Int?](repeating: nil, count: order.count)
    var pinned = Set<Int>()
    for pin in rules.pin {
        guard let best = order.firstIndex(where: { !pinned.contains($0) && matches(pin.match, request, items, $0) })
        else { continue }
        for s in stride(from: min(best, pin.within - 1), through: 0, by: -1) where slots[s] == nil {
            slots[s] = order[best]
            pinned.insert(order[best])
            break
        }
    }
    func attr(_ i: Int?, _ name: String) -> String? {
        guard let i = i, i < request.attributes.count else { return nil }
        return request.attributes[i][name]
    }
    func fits(_ s: Int, _ i: Int) -> Bool {
        for cap in rules.cap {
            guard let v = attr(i, cap.attribute) else { continue }
            let above = slots.prefix(cap.within).filter { $0 != nil && attr($0, cap.attribute) == v }.count
            if s < cap.within && above >= cap.max { return false }
        }
        for run in rules.run {
            guard let v = attr(i, run.attribute), s < run.within else { continue }
            var above = s - 1
            while above >= 0 && attr(slots[above], run.attribute) == v { above -= 1 }
            let end = min(slots.count, run.within)
            var below = s + 1
            while below < end && attr(slots[below], run.attribute) == v { below += 1 }
            if below - above - 1 > run.max { return false }
        }
        return true
    }
    var remaining = order.filter { !pinned.contains($0) }
    for s in slots.indices where slots[s] == nil {
        let k = remaining.firstIndex { fits(s, $0) } ?? 0
        slots[s] = remaining.remove(at: k)
    }
    return slots.map { $0! }
}
