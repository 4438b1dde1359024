package dev.edgeship.client

import org.json.JSONObject

/** fallback.json. */
class FallbackTable(
    val segments: List<Pair<Int, Int>>, // (context column, divisor)
    val globalRate: Double,
    val itemRates: Map<String, Double>,
    val segmentRates: Map<String, Map<String, Double>>,
) {
    companion object {
        fun parse(text: String): FallbackTable {
            val o = JSONObject(text)
            fun rates(r: JSONObject) = r.keySet().associateWith { r.getDouble(it) }
            val segments = o.getJSONObject("segment_rates")
            return FallbackTable(
                o.getJSONArray("segments").objects().map { Pair(it.getInt("column"), it.getInt("divisor")) },
                o.getDouble("global_rate"), rates(o.getJSONObject("item_rates")),
                segments.keySet().associateWith { rates(segments.getJSONObject(it)) },
            )
        }
    }

    /** Each candidate's rate as the score rules.json adds to: log(r / (1 - r)), r clamped to [1e-6, 1 - 1e-6]; a
     *  segment's rate, else the item's, else the global rate. Any n: no model call. */
    fun scores(request: RawRequest, encoder: Encoder): DoubleArray {
        val context = encoder.features.context.map { encoder.contextId(it, request) }
        val key = segments.joinToString(",") { (column, divisor) -> Math.floorDiv(context[column], divisor).toString() }
        val segment = segmentRates[key] ?: emptyMap()
        return DoubleArray(request.items.size) { i ->
            val id = encoder.itemId(request.items[i]).toString()
            val r = (segment[id] ?: itemRates[id] ?: globalRate).coerceIn(1e-6, 1 - 1e-6)
            Math.log(r / (1 - r))
        }
    }
}
