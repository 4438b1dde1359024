package dev.edgeship.client

import org.json.JSONObject

data class Match(
    val items: List<String>, val attribute: String, val values: List<String>, val feature: String,
    val min: Double?, val max: Double?,
)

data class Filter(val match: Match, val `when`: Map<String, List<String>>)
data class Boost(val match: Match, val by: Double, val `when`: Map<String, List<String>>)
data class Pin(val match: Match, val within: Int)
data class Cap(val attribute: String, val max: Int, val within: Int)

/** rules.json's `rules`. */
data class RuleSet(
    val filter: List<Filter> = emptyList(), val boost: List<Boost> = emptyList(), val pin: List<Pin> = emptyList(),
    val cap: List<Cap> = emptyList(), val run: List<Cap> = emptyList(),
) {
    companion object {
        val NONE = RuleSet()

        /** rules.json's `rules` object. */
        fun parse(o: JSONObject): RuleSet {
            fun strings(o: JSONObject, key: String) =
                o.getJSONArray(key).let { a -> List(a.length()) { a.getString(it) } }
            fun match(o: JSONObject) = Match(strings(o, "items"), o.getString("attribute"), strings(o, "values"),
                                             o.getString("feature"), if (o.isNull("min")) null else o.getDouble("min"),
                                             if (o.isNull("max")) null else o.getDouble("max"))
            fun whenOf(o: JSONObject) = o.getJSONObject("when").let { w -> w.keySet().associateWith { strings(w, it) } }
            fun caps(key: String) = o.getJSONArray(key).objects().map {
                Cap(it.getString("attribute"), it.getInt("max"), it.getInt("within"))
            }
            return RuleSet(
                o.getJSONArray("filter").objects().map { Filter(match(it.getJSONObject("match")), whenOf(it)) },
                o.getJSONArray("boost").objects().map {
                    Boost(match(it.getJSONObject("match")), it.getDouble("by"), whenOf(it))
                },
                o.getJSONArray("pin").objects().map { Pin(match(it.getJSONObject("match")), it.getInt("within")) },
                caps("cap"), caps("run"),
            )
        }
    }
}

private fun matches(m: Match, request: RawRequest, items: List<String>, i: Int): Boolean {
    if (m.items.isNotEmpty() && items[i] !in m.items) return false
    if (m.attribute.isNotEmpty()) {
        val v = request.attributes.getOrNull(i)?.get(m.attribute)
        if (v == null || v !in m.values) return false
    }
    if (m.feature.isNotEmpty()) {
        val x = (request.features.getOrNull(i)?.get(m.feature) as? Number)?.toDouble() ?: return false
        if ((m.min != null && x < m.min) || (m.max != null && x > m.max)) return false
    }
    return true
}

/** rules.json applied to scores (one per candidate), in its documented order: filter, boost, sort, pin, fill.
 *  The candidates' indices best first, filtered ones left out. Scores and boosts add in float64. */
fun applyRules(rules: RuleSet, scores: DoubleArray, request: RawRequest, encoder: Encoder): List<Int> {
    val context = encoder.contextByName(request)
    val items = request.items.map { canonical(it, "item") }
    fun holds(`when`: Map<String, List<String>>) =
        `when`.all { (column, values) -> context[column]?.let { it in values } ?: false }
    val n = request.items.size
    val filters = rules.filter.filter { holds(it.`when`) }
    val kept = (0 until n).filter { i -> filters.none { matches(it.match, request, items, i) } }
    val boosts = rules.boost.filter { holds(it.`when`) }
    val score = HashMap<Int, Double>()
    for (i in kept) {
        var s = scores[i]
        for (b in boosts) if (matches(b.match, request, items, i)) s += b.by // in the listed order
        score[i] = s
    }
    // a stable sort: equal scores keep the given order
    val order = kept.sortedWith { a, b -> compareValues(score.getValue(b), score.getValue(a)) }
    val slots = arrayOfNulls<Int>(order.size)
    val pinned = HashSet<Int>()
    for (pin in rules.pin) {
        val best = order.indexOfFirst { it !in pinned && matches(pin.match, request, items, it) }
        if (best < 0) continue
        for (s in minOf(best, pin.within - 1) downTo 0) {
            if (slots[s] == null) {
                slots[s] = order[best]
                pinned.add(order[best])
                break
            }
        }
    }
    fun attr(i: Int?, name: String): String? = if (i == null) null else request.attributes.getOrNull(i)?.get(name)
    fun fits(s: Int, i: Int): Boolean {
        for (cap in rules.cap) {
            val v = attr(i, cap.attribute) ?: continue
            val above = slots.take(cap.within).count { it != null && attr(it, cap.attribute) == v }
            if (s < cap.within && above >= cap.max) return false
        }
        for (run in rules.run) {
            val v = attr(i, run.attribute)
            if (v == null || s >= run.within) continue
            var above = s - 1
            while (above >= 0 && attr(slots[above], run.attribute) == v) above--
            val end = minOf(slots.size, run.within)
            var below = s + 1
            while (below < end && attr(slots[below], run.attribute) == v) below++
            if (below - above - 1 > run.max) return false
        }
        return true
    }
    val remaining = order.filter { it !in pinned }.toMutableList()
    for (s in slots.indices) {
        if (slots[s] != null) continue
        val k = maxOf(0, remaining.indexOfFirst { fits(s, it) })
        slots[s] = remaining.removeAt(k)
    }
    return slots.map { it!! }
}
