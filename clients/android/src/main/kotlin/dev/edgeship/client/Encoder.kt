package dev.edgeship.client

/** features.json's time rule: the hour ("hour") or weekday column of a unix time, in UTC. */
fun timeId(name: String, timestamp: Double): Int {
    val t = Math.floor(timestamp).toLong()
    return if (name == "hour") Math.floorMod(Math.floorDiv(t, 3600L), 24L).toInt()
    else Math.floorMod(Math.floorDiv(t, 86400L) + 3L, 7L).toInt()
}

/** A raw request -> the model's four inputs, exactly as features.json says (checked by the conformance suite). */
class Encoder(val features: Features, vocabularies: Map<String, List<String>>) {
    private val lookups = HashMap<String, Pair<Map<String, Int>, Int>>()

    init {
        for (v in features.context.map { it.vocabulary } + features.items.vocabulary) {
            if (v == null) continue
            val values = vocabularies[v.field] ?: throw BundleError("vocabularies.json has no field ${v.field}")
            lookups[v.field] = Pair(values.withIndex().associate { (i, s) -> s to v.first + i }, v.oov)
        }
    }

    private fun hashed(value: Any?, field: String, offset: Int, buckets: Int): Int =
        offset + (fnv1a32(canonical(value, field), features.hashOffsetBasis, features.hashPrime) %
            (buckets - offset)).toInt()

    private fun lookup(vocabulary: String, value: Any?, field: String): Int {
        val (ids, oov) = lookups.getValue(vocabulary)
        return ids[canonical(value, field)] ?: oov
    }

    fun contextId(column: ContextColumn, request: RawRequest): Int = when (column.kind) {
        "constant" -> 0
        "time" -> timeId(column.name, request.timestamp ?: throw ContractError("missing_timestamp", column.name))
        else -> {
            val value = request.context[column.source] ?: throw ContractError("missing_context", column.source)
            when (column.kind) {
                "index" -> indexId(value, column.size, column.source)
                "hash" -> hashed(value, column.source, column.offset!!, column.buckets!!)
                else -> lookup(column.vocabulary!!.field, value, column.source)
            }
        }
    }

    fun itemId(item: Any?): Int {
        val rule = features.items
        return when (rule.kind) {
            "index" -> indexId(item, rule.size, "item")
            "hash" -> hashed(item, "item", rule.offset!!, rule.buckets!!)
            else -> lookup(rule.vocabulary!!.field, item, "item")
        }
    }

    fun feature(f: NumericFeature, raw: Map<String, Any?>): Float {
        if (f.constant) return 0f
        val x = raw[f.name]
        if (x !is Number || !x.toDouble().isFinite()) throw ContractError("missing_feature", f.name)
        val z = (x.toDouble() - f.mean) * f.scale // float64, then stored as float32, as every client does
        return (if (f.clip == null) z else Math.min(Math.max(z, -f.clip), f.clip)).toFloat()
    }

    private fun checkLengths(request: RawRequest) {
        val n = request.items.size
        if (request.features.size != n) throw ContractError("length_mismatch", "features")
        if (request.attributes.isNotEmpty() && request.attributes.size != n) {
            throw ContractError("length_mismatch", "attributes")
        }
    }

    /** One call's tensors: at most k candidates. */
    fun encode(request: RawRequest): Encoded {
        val k = features.k
        val h = features.historyLength
        val d = features.candidateFeatures.size
        val n = request.items.size
        if (n > k) throw ContractError("too_many_candidates", "items", "$n > k = $k")
        checkLengths(request)
        val context = IntArray(features.context.size) { contextId(features.context[it], request) }
        val history = IntArray(h) { features.items.padding }
        request.history.take(h).forEachIndexed { i, item -> history[i] = itemId(item) }
        val candidates = IntArray(k) { features.items.padding }
        request.items.forEachIndexed { i, item -> candidates[i] = itemId(item) }
        val values = FloatArray(k * d) // padding slots stay 0.0
        request.features.forEachIndexed { slot, raw ->
            features.candidateFeatures.forEachIndexed { j, f -> values[slot * d + j] = feature(f, raw) }
        }
        return Encoded(context, history, candidates, values)
    }

    /** features.json candidates.merge: the request in calls of at most k candidates, in the given order. */
    fun calls(request: RawRequest): List<RawRequest> {
        checkLengths(request)
        val k = features.k
        val n = request.items.size
        return (0 until maxOf(n, 1) step k).map { s ->
            val e = minOf(s + k, n)
            request.copy(
                items = request.items.subList(minOf(s, n), e),
                features = request.features.subList(minOf(s, n), e),
                attributes = if (request.attributes.isEmpty()) emptyList() else request.attributes.subList(s, e),
            )
        }
    }

    /** The context as rules.json's `when` reads it: column name -> canonical value (time columns: their number). */
    fun contextByName(request: RawRequest): Map<String, String> {
        val out = HashMap<String, String>()
        for (c in features.context) {
            when (c.kind) {
                "time" -> request.timestamp?.let { out[c.name] = timeId(c.name, it).toString() }
                "constant" -> {}
                else -> request.context[c.source]?.let { out[c.name] = canonical(it, c.source) }
            }
        }
        return out
    }
}
