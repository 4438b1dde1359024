package dev.edgeship.client

/** A slate: candidate indices shown (position 0 first), the propensity to log for each, whether it explored. */
data class Slate(val shown: List<Int>, val propensities: List<Double>, val explored: Boolean)

/**
 * Exploration with exact propensities (docs/releases.md): with probability [epsilon] the slate is the first [slots]
 * of a uniformly random order of the n candidates, else the first [slots] of the ranking; the candidate a shown at
 * position k is logged with P(a at k) = (1 - epsilon) * [a is the ranking's k-th] + epsilon / n. [draws] are n
 * uniforms in [0, 1): the first decides (draws[0] < epsilon explores), the rest shuffle by Fisher-Yates
 * (i = n-1 .. 1: j = min(floor(u * (i + 1)), i), swap i and j).
 */
fun explore(order: List<Int>, slots: Int, epsilon: Double, draws: List<Double>): Slate {
    val n = order.size
    require(epsilon in 0.0..1.0) { "epsilon $epsilon: expected a probability in [0, 1]" }
    require(order.sorted() == (0 until n).toList()) { "order: expected every candidate index once" }
    require(draws.size >= maxOf(n, 1) && draws.all { it >= 0.0 && it < 1.0 }) {
        "draws: expected ${maxOf(n, 1)} uniforms in [0, 1)"
    }
    val explored = draws[0] < epsilon
    val chosen = order.toMutableList()
    if (explored) {
        var step = 1
        for (i in n - 1 downTo 1) {
            val j = minOf(Math.floor(draws[step++] * (i + 1)).toInt(), i)
            chosen[i] = chosen[j].also { chosen[j] = chosen[i] }
        }
    }
    val shown = chosen.take(minOf(slots, n))
    val propensities = shown.mapIndexed { k, a -> (1 - epsilon) * (if (a == order[k]) 1 else 0) + epsilon / n }
    return Slate(shown, propensities, explored)
}

/** The same with the platform's generator (any source of uniforms in [0, 1)). */
fun exploreWith(order: List<Int>, slots: Int, epsilon: Double, random: () -> Double = Math::random): Slate =
    explore(order, slots, epsilon, List(maxOf(order.size, 1)) { random() })
