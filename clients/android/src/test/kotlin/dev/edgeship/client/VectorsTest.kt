package dev.edgeship.client

import ai.onnxruntime.OrtEnvironment
import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File

/** A bundle's testvectors_raw.json through this library and ONNX Runtime Java, as an app's unit test would: each
 *  raw request encoded (exactly), each .onnx / .ort file scored (within the bundle's atol), its ranking, the
 *  ranking after rules.json, and the fallback order. */
class VectorsTest {
    @Test
    fun rawVectorsReplayWithOnnxRuntime() {
        val dir = property("edgeship.bundle")
        val bundle = Bundle.read { name -> File(dir, name).takeIf { it.exists() }?.readText() }
        val vectors = JSONObject(File(dir, "testvectors_raw.json").readText())
        val atol = vectors.getJSONObject("atol")
        val cases = vectors.getJSONArray("cases").objects()
        val failures = ArrayList<String>()
        val base = Ranker(bundle, null)
        cases.forEachIndexed { i, c ->
            val request = request(c.getJSONObject("request"))
            val got = base.encoder.encode(request)
            val t = c.getJSONObject("tensors")
            if (flat(t.get("context")) != got.context.map { it.toDouble() } ||
                flat(t.get("history")) != got.history.map { it.toDouble() } ||
                flat(t.get("candidates")) != got.candidates.map { it.toDouble() } ||
                flat(t.get("candidate_features")).zip(got.candidateFeatures.toList()).any { (w, g) -> Math.abs(w - g) > 1e-6 }) {
                failures.add("cases[$i].tensors")
            }
            if (json(base.fallback(request).first) != json(plain(c.getJSONArray("fallback")))) failures.add("cases[$i].fallback")
        }
        val files = LinkedHashMap<String, Map<String, Any>>()
        val env = OrtEnvironment.getEnvironment()
        for (name in atol.keySet().filter { it.endsWith(".onnx") || it.endsWith(".ort") }.sorted()) {
            env.createSession(File(dir, name).path).use { session ->
                val ranker = Ranker(bundle, OnnxScoringModel(session, bundle.features))
                var worst = 0.0
                var ranked = 0
                var withRules = 0
                cases.forEachIndexed { i, c ->
                    val request = request(c.getJSONObject("request"))
                    val scores = ranker.score(request)
                    val want = flat(c.getJSONObject("expected").get(name)).take(scores.size)
                    worst = maxOf(worst, scores.indices.maxOfOrNull { Math.abs(scores[it] - want[it]) } ?: 0.0)
                    val byScore = want.indices.sortedWith { a, b -> compareValues(want[b], want[a]) }.map { request.items[it] }
                    if (json(byScore) == json(plain(c.getJSONObject("ranked").getJSONArray(name)))) ranked++
                    else failures.add("cases[$i].ranked[$name]")
                    if (json(ranker.rank(request).items) == json(plain(c.getJSONObject("with_rules").getJSONArray(name)))) withRules++
                    else failures.add("cases[$i].with_rules[$name]")
                }
                if (worst > atol.getDouble(name)) failures.add("$name: max |error| $worst")
                files[name] = mapOf("max_abs_error" to worst, "ranked" to ranked, "with_rules" to withRules)
            }
        }
        File(property("edgeship.report"), "vectors.json").writeText(
            json(mapOf("client" to "kotlin (JVM, onnxruntime ${OrtEnvironment::class.java.`package`.implementationVersion})",
                       "cases" to cases.size, "files" to files, "failures" to failures)))
        assertEquals(emptyList<String>(), failures)
        assertTrue(files.keys.containsAll(listOf("ranker_fp32.onnx", "ranker_int8.onnx", "ranker_int8.ort")))
    }
}
