// Runs a bundle's generated integration/android/EdgeshipRanker.kt on a desktop JVM, as an app's unit test would:
// encodes each raw request of testvectors_raw.json (tests/export/integration/test_android.py writes them in the
// simple line format below, since a desktop JVM has no JSON reader), ranks it with a ScoringModel that returns
// the file's recorded scores (LiteRT itself does not run on a desktop JVM), puts them through the bundle's
// rules.json, and drives the fallback (the bundle's fallback.json under the rules). Prints what it found; the
// Python test judges it.
//
// Input lines, fields separated by U+001F: V field values... | C index | I items... | H history... | T timestamp |
// X key value key value ... | F name value name value ... (one line per candidate) | A name value ... (one line
// per candidate) | S file scores... | E
// Usage: java -jar run_vectors.jar REQUESTS.txt BUNDLE
package edgeship

import java.io.File

const val SEP = "\u001f"

class Case(val index: Int) {
    var items: List<String> = emptyList()
    var history: List<String> = emptyList()
    var timestamp: Double? = null
    val context = LinkedHashMap<String, String>()
    val features = ArrayList<Map<String, Double>>()
    val attributes = ArrayList<Map<String, String>>()
    val scores = LinkedHashMap<String, FloatArray>()
    fun request() = RawRequest(items, features, context, timestamp, history, attributes)
}

fun pairs(fields: List<String>): List<Pair<String, String>> = (0 until fields.size / 2).map { Pair(fields[2 * it], fields[2 * it + 1]) }

fun json(value: Any?): String = when (value) {
    null -> "null"
    is String -> "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\""
    is Boolean, is Int, is Long, is Double -> value.toString()
    is IntArray -> value.joinToString(",", "[", "]")
    is List<*> -> value.joinToString(",", "[", "]") { json(it) }
    is Map<*, *> -> value.entries.joinToString(",", "{", "}") { json(it.key) + ":" + json(it.value) }
    else -> throw IllegalArgumentException("cannot write ${value.javaClass}")
}

fun vocab(v: VocabularyRule?): Any? = if (v == null) null else mapOf("field" to v.field, "first" to v.first, "oov" to v.oov)

/** The generated Contract object, as the JSON the Python side compares with features.json. */
fun constants(): String = json(mapOf(
    "contract_version" to Contract.CONTRACT_VERSION,
    "inputs" to Contract.INPUTS.map { mapOf("name" to it.name, "dtype" to it.dtype, "shape" to it.shape) },
    "k" to Contract.K, "history_length" to Contract.HISTORY_LENGTH, "padding" to Contract.PADDING,
    "hash" to mapOf("offset_basis" to Contract.HASH_OFFSET_BASIS, "prime" to Contract.HASH_PRIME),
    "context" to Contract.CONTEXT.map {
        mapOf("name" to it.name, "source" to it.source, "kind" to it.kind, "buckets" to it.buckets,
              "vocabulary" to vocab(it.vocabulary))
    },
    "items" to mapOf("kind" to Contract.ITEMS.kind, "buckets" to Contract.ITEMS.buckets,
                     "vocabulary" to vocab(Contract.ITEMS.vocabulary)),
    "features" to Contract.FEATURES.map {
        mapOf("name" to it.name, "mean" to it.mean, "scale" to it.scale, "clip" to it.clip, "constant" to it.constant)
    },
    "output" to Contract.OUTPUT))

fun main(args: Array<String>) {
    val vocabularies = HashMap<String, List<String>>()
    val cases = ArrayList<Case>()
    var case: Case? = null
    for (line in File(args[0]).readLines()) {
        val f = line.split(SEP)
        val rest = f.drop(1)
        when (f[0]) {
            "V" -> vocabularies[rest[0]] = rest.drop(1)
            "C" -> case = Case(rest[0].toInt())
            "I" -> case!!.items = rest
            "H" -> case!!.history = rest
            "T" -> case!!.timestamp = rest.firstOrNull()?.toDouble()
            "X" -> pairs(rest).forEach { case!!.context[it.first] = it.second }
            "F" -> case!!.features.add(pairs(rest).associate { Pair(it.first, it.second.toDouble()) })
            "A" -> case!!.attributes.add(pairs(rest).associate { it })
            "S" -> case!!.scores[rest[0]] = FloatArray(rest.size - 1) { rest[it + 1].toFloat() }
            "E" -> cases.add(case!!)
        }
    }
    println("constants " + constants())
    val encoder = Encoder(vocabularies)
    val rules = Rules.read(File(args[1], "rules.json").readText())
    val fallbackFile = File(args[1], "fallback.json")
    val table = if (fallbackFile.exists()) FallbackTable.read(fallbackFile.readText()) else null
    for (c in cases) {
        val e = encoder.encode(c.request())
        println("encoded ${c.index} context ${e.context.joinToString(" ")}")
        println("encoded ${c.index} history ${e.history.joinToString(" ")}")
        println("encoded ${c.index} candidates ${e.candidates.joinToString(" ")}")
        println("encoded ${c.index} candidate_features ${e.candidateFeatures.joinToString(" ")}")
        for ((file, scores) in c.scores) {
            val recorded = object : ScoringModel {
                override fun scores(encoded: Encoded): FloatArray = scores
            }
            val plain = Ranker(encoder, recorded).rank(c.request())
            println("ranked ${c.index} $file ${plain.items.joinToString(SEP)}")
            val ruled = Ranker(encoder, recorded, rules, table).rank(c.request())
            println("ruled ${c.index} $file ${ruled.items.joinToString(SEP)}")
        }
        val fallback = Ranker(encoder, null, rules, table).rank(c.request())
        println("fallbackorder ${c.index} ${fallback.by} ${fallback.items.joinToString(SEP)}")
    }
    val request = cases[0].request()
    val failing = object : ScoringModel {
        override fun scores(encoded: Encoded): FloatArray = throw IllegalStateException("interpreter failed")
    }
    val tooMany = RawRequest(List(Contract.K + 1) { request.items[it % request.items.size] }, request.features,
                             request.context, request.timestamp, request.history)
    val results = listOf(
        Triple("unloadable", request, Ranker(encoder, null)),
        Triple("throwing", request, Ranker(encoder, failing)),
        Triple("too_many", tooMany, Ranker(encoder, failing, rules, table)))
    for ((name, r, ranker) in results) {
        val ranking = ranker.rank(r)
        println("fallback $name ${ranking.by.replace(" ", "_")} ${ranking.fallback}")
    }
}
