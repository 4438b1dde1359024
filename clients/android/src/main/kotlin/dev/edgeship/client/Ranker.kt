package dev.edgeship.client

import org.json.JSONObject

/** A model file behind one call: the four inputs of one request (k candidate slots) -> k scores. */
fun interface ScoringModel {
    fun score(inputs: Encoded): FloatArray
}

/** The data files of a bundle a client reads (the model file is the scoring model's business). */
class Bundle(val features: Features, val vocabularies: Map<String, List<String>>, val rules: RuleSet,
             val fallback: FallbackTable?) {
    companion object {
        /** read(name): a file's text, or null when the bundle lacks it (rules.json and fallback.json are optional). */
        fun read(read: (String) -> String?): Bundle {
            fun required(name: String) = read(name) ?: throw BundleError("$name: missing")
            return Bundle(
                Features.parse(required("features.json")), parseVocabularies(required("vocabularies.json")),
                read("rules.json")?.let { RuleSet.parse(JSONObject(it).getJSONObject("rules")) } ?: RuleSet.NONE,
                read("fallback.json")?.let { FallbackTable.parse(it) },
            )
        }
    }
}

data class Ranking(val items: List<Any>, val scores: FloatArray?, val by: String, val reason: String?)

/** Ranks raw requests with a bundle's model (any n: calls of k merged, features.json candidates.merge), then
 *  rules.json; when the model is missing or a call fails, fallback.json under the same rules, else the given
 *  order under the rules. */
class Ranker(val bundle: Bundle, val model: ScoringModel?) {
    val encoder = Encoder(bundle.features, bundle.vocabularies)

    /** The model's score of every candidate: one call per k, padded slots dropped. */
    fun score(request: RawRequest): FloatArray {
        val model = model ?: throw IllegalStateException("no model")
        return encoder.calls(request).flatMap { call ->
            model.score(encoder.encode(call)).take(call.items.size)
        }.toFloatArray()
    }

    fun rank(request: RawRequest): Ranking = try {
        val scores = score(request)
        Ranking(order(DoubleArray(scores.size) { scores[it].toDouble() }, request), scores, "model", null)
    } catch (e: Exception) {
        val (items, by) = fallback(request)
        Ranking(items, null, by, e.toString())
    }

    /** fallback.json's ranking under the rules; the given order under the rules when there is no table or it
     *  cannot rank this request either. */
    fun fallback(request: RawRequest): Pair<List<Any>, String> {
        bundle.fallback?.let { table ->
            try {
                return Pair(order(table.scores(request, encoder), request), "fallback.json")
            } catch (e: ContractError) {
                // the given order below
            }
        }
        return Pair(order(DoubleArray(request.items.size), request), "given order")
    }

    private fun order(scores: DoubleArray, request: RawRequest): List<Any> =
        applyRules(bundle.rules, scores, request, encoder).map { request.items[it] }
}

/** Shadow mode: the current release's ranking is shown, the candidate's is computed for the same request and
 *  logged beside it (requestEvents' `shadow`), never shown; a candidate failure leaves the shown ranking as it is. */
fun rankWithShadow(current: Ranker, candidate: Ranker, request: RawRequest): Pair<Ranking, Ranking> =
    Pair(current.rank(request), candidate.rank(request))
