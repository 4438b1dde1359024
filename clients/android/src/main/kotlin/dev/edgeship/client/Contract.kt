package dev.edgeship.client

import org.json.JSONArray
import org.json.JSONObject

/** The features.json versions this library reads. */
val SUPPORTED_CONTRACT_VERSIONS = listOf(2)

data class VocabularyRef(val field: String, val first: Int, val oov: Int)

data class ContextColumn(
    val column: Int, val name: String, val source: String, val kind: String, val size: Int,
    val vocabulary: VocabularyRef?, val buckets: Int?, val offset: Int?,
)

data class ItemRule(
    val kind: String, val size: Int, val padding: Int, val vocabulary: VocabularyRef?, val buckets: Int?,
    val offset: Int?,
)

data class NumericFeature(
    val index: Int, val name: String, val mean: Double, val scale: Double, val clip: Double?, val constant: Boolean,
)

data class InputRecord(val name: String, val dtype: String, val shape: LongArray)

/** features.json: the raw-input contract (the parts a client needs). */
data class Features(
    val schemaVersion: Int,
    val inputs: List<InputRecord>,
    val context: List<ContextColumn>,
    val items: ItemRule,
    val historyLength: Int,
    val candidateFeatures: List<NumericFeature>,
    val k: Int,
    val output: String,
    val hashOffsetBasis: Long,
    val hashPrime: Long,
) {
    companion object {
        /** Parses features.json; refuses a contract version this library does not read. */
        fun parse(text: String): Features {
            val o = JSONObject(text)
            val version = o.getInt("schema_version")
            if (version !in SUPPORTED_CONTRACT_VERSIONS) {
                throw BundleError(
                    "features.json: schema_version $version; this client reads $SUPPORTED_CONTRACT_VERSIONS")
            }
            val hash = o.getJSONObject("hash")
            return Features(
                version,
                o.getJSONArray("inputs").objects().map { i ->
                    InputRecord(i.getString("name"), i.getString("dtype"),
                                i.getJSONArray("shape").let { s -> LongArray(s.length()) { s.getLong(it) } })
                },
                o.getJSONArray("context").objects().map { c ->
                    ContextColumn(c.getInt("column"), c.getString("name"), c.getString("source"), c.getString("kind"),
                                  c.getInt("size"), vocabulary(c), c.intOrNull("buckets"), c.intOrNull("offset"))
                },
                o.getJSONObject("items").let { i ->
                    ItemRule(i.getString("kind"), i.getInt("size"), i.getInt("padding"), vocabulary(i),
                             i.intOrNull("buckets"), i.intOrNull("offset"))
                },
                o.getJSONObject("history").getInt("length"),
                o.getJSONArray("candidate_features").objects().map { f ->
                    NumericFeature(f.getInt("index"), f.getString("name"), f.getDouble("mean"), f.getDouble("scale"),
                                   if (f.isNull("clip")) null else f.getDouble("clip"), f.optBoolean("constant"))
                },
                o.getJSONObject("candidates").getInt("k"),
                o.getJSONObject("output").getString("name"),
                hash.getLong("offset_basis"),
                hash.getLong("prime"),
            )
        }

        private fun vocabulary(o: JSONObject): VocabularyRef? =
            if (o.isNull("vocabulary")) null
            else o.getJSONObject("vocabulary").let {
                VocabularyRef(it.getString("field"), it.getInt("first"), it.getInt("oov"))
            }
    }
}

/** vocabularies.json: field name -> its values. */
fun parseVocabularies(text: String): Map<String, List<String>> =
    JSONObject(text).getJSONArray("fields").objects().associate { f ->
        val values = f.optJSONArray("values")
        f.getString("name") to (values?.let { v -> List(v.length()) { v.getString(it) } } ?: emptyList())
    }

/** A request as an app holds it. Raw values (items, history, context) are strings, numbers or booleans, read
 *  by features.json's raw_values.canonical; features are numbers by name. */
data class RawRequest(
    val items: List<Any>,
    val features: List<Map<String, Any?>>,
    val context: Map<String, Any?>,
    val timestamp: Double? = null,
    val history: List<Any> = emptyList(),
    val attributes: List<Map<String, String>> = emptyList(),
)

/** The four inputs of one call, batch dimension dropped (row-major). */
class Encoded(val context: IntArray, val history: IntArray, val candidates: IntArray, val candidateFeatures: FloatArray)

internal fun JSONArray.objects(): List<JSONObject> = List(length()) { getJSONObject(it) }

internal fun JSONObject.intOrNull(key: String): Int? = if (isNull(key)) null else getInt(key)
