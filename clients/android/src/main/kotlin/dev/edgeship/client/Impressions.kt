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
