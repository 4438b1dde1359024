import Foundation

// Exploration with exact propensities (docs/releases.md): with probability epsilon the slate is the first `slots`
// of a uniformly random order of the n candidates, else the first `slots` of the ranking; the candidate a shown at
// position k is logged with P(a at k) = (1 - epsilon) * [a is the ranking's k-th] + epsilon / n. `draws` are n
// uniforms in [0, 1): the first decides (draws[0] < epsilon explores), the rest shuffle by Fisher-Yates
// (i = n-1 ... 1: j = min(floor(u * (i + 1)), i), swap i and j).

public struct Slate {
    /// candidate indices, position 0 first
    public let shown: [Int]
    /// P(shown[k] at k) under the policy: the propensity to log
    public let propensities: [Double]
    public let explored: Bool
}

public struct ExplorationError: Error, CustomStringConvertible {
    public let description: String
}

public func explore(order: [Int], slots: Int, epsilon: Double, draws: [Double]) throws -> Slate {
    let n = order.count
    guard epsilon >= 0 && epsilon <= 1 else {
        throw ExplorationError(description: "epsilon \(epsilon): expected a probability in [0, 1]")
    }
    guard order.sorted() == Array(0..<n) else {
        throw ExplorationError(description: "order: expected every candidate index once")
    }
    guard draws.count >= max(n, 1), draws.allSatisfy({ $0 >= 0 && $0 < 1 }) else {
        throw ExplorationError(description: "draws: expected \(max(n, 1)) uniforms in [0, 1)")
    }
    let explored = draws[0] < epsilon
    var chosen = order
    if explored {
        var step = 1
        for i in stride(from: n - 1, through: 1, by: -1) {
            chosen.swapAt(i, min(Int((draws[step] * Double(i + 1)).rounded(.down)), i))
            step += 1
        }
    }
    let shown = Array(chosen.prefix(min(slots, n)))
    let propensities = shown.enumerated().map { k, a in (1 - epsilon) * (a == order[k] ? 1 : 0) + epsilon / Double(n) }
    return Slate(shown: shown, propensities: propensities, explored: explored)
}

/// The same with the platform's generator (any source of uniforms in [0, 1)).
public func explore(order: [Int], slots: Int, epsilon: Double,
                    random: () -> Double = { Double.random(in: 0..<1) }) throws -> Slate {
    try explore(order: order, slots: slots, epsilon: epsilon, draws: (0..<max(order.count, 1)).map { _ in random() })
}
