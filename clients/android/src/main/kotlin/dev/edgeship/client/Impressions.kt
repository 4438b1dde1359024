package dev.edgeship.client

import org.json.JSONObject

/** What a client logs for one ranked request (schemas/impressions.schema.json; docs/releases.md). */
data class RequestInfo(
    val requestId: String, val user: String, val arm: String, val policy: String, val timestamp: Double,
    val modelVersion: String? = null, val epsilon: Double? = null, val latencyMs: Double? = null,
    val error: String? = null, val request: JSONObject? = null,
    /** shadow mode: the candidate model's version and its ranking of the same request (scored, never shown) */
    val shadow: Pair<String?, List<Any?>>? = null,
    /** the user's rollout bucket (bucket(user, salt)) under the newest installed release's salt */
    val bucket: Double? = null,
)

/** The request event, then one impression per shown item with its propensity: each a JSON Lines line. */
fun requestEvents(info: RequestInfo, items: List<Any?>, slate: Slate): List<JSONObject> {
    val head = JSONObject()
        .put("event", "request").put("request_id", info.requestId).put("user", info.user).put("arm", info.arm)
        .put("bucket", info.bucket ?: JSONObject.NULL)
        .put("policy", info.policy).put("timestamp", info.timestamp)
        .put("model_version", info.modelVersion ?: JSONObject.NULL).put("epsilon", info.epsilon ?: JSONObject.NULL)
        .put("slots", slate.shown.size).put("latency_ms", info.latencyMs ?: JSONObject.NULL)
        .put("error", info.error ?: JSONObject.NULL)
    info.request?.let { head.put("request", it) }
    info.shadow?.let { (version, ranked) ->
        head.put("shadow", JSONObject().put("model_version", version ?: JSONObject.NULL)
            .put("items", ranked.take(slate.shown.size).map { canonical(it, "items") }))
    }
    return listOf(head) + slate.shown.mapIndexed { k, i ->
        JSONObject().put("event", "impression").put("request_id", info.requestId).put("position", k)
            .put("item", canonical(items[i], "items")).put("propensity", slate.propensities[k])
            .put("explored", slate.explored)
    }
}

fun tapEvent(requestId: String, item: Any?, timestamp: Double? = null): JSONObject =
    JSONObject().put("event", "tap").put("request_id", requestId).put("item", canonical(item, "items"))
        .put("timestamp", timestamp ?: JSONObject.NULL)

/**
 * Batches the log's lines for a sink the app owns (a file append, an HTTP POST): lines leave in order, [batch] at a
 * time or on [flush]; a sink that throws keeps its lines queued, in front, for the next flush; past [maxLines]
 * queued the oldest are dropped and counted, so a phone offline for days does not grow the queue without bound.
 * Thread-safe; the sink runs outside the lock, so logging never waits for the network.
 */
class ImpressionLogger(private val sink: (String) -> Unit, private val batch: Int = 100,
                       private val maxLines: Int = 10_000) {
    private val queue = ArrayDeque<String>()
    private val lock = Any()

    /** lines dropped because the queue was full */
    var dropped = 0L
        private set
    val pending: Int get() = synchronized(lock) { queue.size }

    fun log(events: List<JSONObject>) {
        val full = synchronized(lock) {
            events.forEach { queue.addLast(it.toString()) }
            trim()
            queue.size >= batch
        }
        if (full) flush()
    }

    /** true when every queued line reached the sink */
    fun flush(): Boolean {
        val lines = synchronized(lock) { queue.toList().also { queue.clear() } }
        if (lines.isEmpty()) return true
        return try {
            sink(lines.joinToString("\n") + "\n")
            true
        } catch (e: Exception) {
            synchronized(lock) {
                lines.asReversed().forEach { queue.addFirst(it) }
                trim()
            }
            false
        }
    }

    private fun trim() {
        while (queue.size > maxLines) {
            queue.removeFirst()
            dropped++
        }
    }
}
