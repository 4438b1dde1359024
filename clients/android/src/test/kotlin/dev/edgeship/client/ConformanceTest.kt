package dev.edgeship.client

import ai.onnxruntime.OrtEnvironment
import org.json.JSONArray
import org.json.JSONObject
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.fail
import java.io.File

/** The conformance suite (clients/conformance): every case a test; per group, passes and failures in a report. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConformanceTest {
    private val suite = property("edgeship.conformance")
    private fun archive(name: String) = File(File(suite, "releases"), name).readBytes()
    private val groups = LinkedHashMap<String, MutableList<String?>>()

    private fun file(vararg parts: String) = parts.fold(suite) { f, p -> File(f, p) }.readText()

    private val contracts = HashMap<String, Pair<Encoder, FallbackTable>>()

    private fun contract(name: String) = contracts.getOrPut(name) {
        Pair(Encoder(Features.parse(file("contracts", name, "features.json")),
                     parseVocabularies(file("contracts", name, "vocabularies.json"))),
             FallbackTable.parse(file("contracts", name, "fallback.json")))
    }

    private fun tensors(got: Encoded, want: JSONObject): String? {
        val named = mapOf("context" to got.context.map { it.toDouble() }, "history" to got.history.map { it.toDouble() },
                          "candidates" to got.candidates.map { it.toDouble() },
                          "candidate_features" to got.candidateFeatures.map { it.toDouble() })
        for (name in want.keySet()) {
            val g = named.getValue(name)
            val w = flat(want.get(name))
            val same = g.size == w.size && g.indices.all {
                if (name == "candidate_features") Math.abs(g[it] - w[it]) <= 1e-6 else g[it] == w[it]
            }
            if (!same) return "$name: got $g, want $w"
        }
        return null
    }

    private fun order(indices: List<Int>, request: RawRequest, want: JSONArray): String? {
        val got = indices.map { request.items[it] }
        return if (json(got) == json(plain(want))) null else "order ${json(got)}, want $want"
    }

    private fun check(case: JSONObject): String? {
        val (encoder, table) = contract(case.getString("contract"))
        val request = request(case.getJSONObject("request"))
        val expect = case.getJSONObject("expect")
        val scores = if (case.isNull("scores")) null else flat(case.getJSONArray("scores")).toDoubleArray()
        return try {
            when (case.getString("group")) {
                "encode", "errors" -> {
                    val got = encoder.encode(request)
                    if (expect.has("error")) "encoded; want error ${expect.getString("error")}"
                    else tensors(got, expect.getJSONArray("calls").getJSONObject(0))
                }
                "merge" -> {
                    val calls = encoder.calls(request).map { encoder.encode(it) }
                    val want = expect.getJSONArray("calls")
                    if (calls.size != want.length()) "${calls.size} calls, want ${want.length()}"
                    else calls.indices.firstNotNullOfOrNull { i -> tensors(calls[i], want.getJSONObject(i))?.let { "call $i: $it" } }
                        ?: order(applyRules(RuleSet.NONE, scores!!, request, encoder), request, expect.getJSONArray("order"))
                }
                "fallback" -> {
                    val got = table.scores(request, encoder)
                    val want = flat(expect.getJSONArray("scores"))
                    if (got.indices.any { Math.abs(got[it] - want[it]) > 1e-12 }) "scores ${got.toList()}, want $want"
                    else order(applyRules(RuleSet.NONE, got, request, encoder), request, expect.getJSONArray("order"))
                }
                else -> order(applyRules(RuleSet.parse(case.getJSONObject("rules")), scores!!, request, encoder), request,
                              expect.getJSONArray("order"))
            }
        } catch (e: ContractError) {
            if (e.code == expect.optString("error") && e.field == expect.optString("field")) null
            else "error ${e.code} ${e.field}, want ${expect.optString("error")} ${expect.optString("field")}"
        }
    }

    @TestFactory
    fun cases(): List<DynamicTest> {
        val cases = JSONObject(file("cases.json")).getJSONArray("cases").objects()
        return cases.map { case ->
            DynamicTest.dynamicTest("${case.getString("group")}/${case.getString("id")}") {
                val wrong = check(case)
                groups.getOrPut(case.getString("group")) { ArrayList() }.add(wrong?.let { "${case.getString("id")}: $it" })
                if (wrong != null) fail(wrong)
            }
        }
    }

    private val releases by lazy { JSONObject(file("releases", "releases.json")) }
    private val keys by lazy {
        releases.getJSONObject("keys").let { k -> k.keySet().associateWith { ReleaseKey(file("releases", k.getString(it))) } }
    }

    private fun checkRelease(case: JSONObject): String? {
        val want = case.getJSONObject("expected")
        return try {
            val bytes = archive(case.getString("archive"))
            val release = openRelease(bytes, case.getJSONArray("keys").strings().map { keys.getValue(it) })
            val contracts = releases.getJSONArray("contracts").let { a -> (0 until a.length()).map { a.getInt(it) } }
            admit(release.record, case.getString("client_version"), contracts,
                  if (case.isNull("installed")) null else case.getString("installed"))
            if (want.has("error")) return "accepted; want ${want.getString("error")}"
            val r = release.record
            val got = listOf(r.version, r.rollout, r.salt, r.killSwitch, r.previous?.version, release.releaseSha256,
                             release.files.keys.sorted())
            val expected = listOf(want.getString("version"), want.getDouble("rollout"), want.getString("salt"),
                                  want.getBoolean("kill_switch"),
                                  if (want.isNull("previous")) null else want.getString("previous"),
                                  want.getString("release_sha256"), want.getJSONArray("files").strings())
            if (got == expected) null else "got $got, want $expected"
        } catch (e: ReleaseError) {
            if (e.code == want.optString("error")) null else "error ${e.code}, want ${want.optString("error", "ok")}"
        }
    }

    @TestFactory
    fun releaseCases(): List<DynamicTest> = releases.getJSONArray("cases").objects().map { case ->
        DynamicTest.dynamicTest("release/${case.getString("name")}") {
            val wrong = checkRelease(case)
            groups.getOrPut("release") { ArrayList() }.add(wrong?.let { "${case.getString("name")}: $it" })
            if (wrong != null) fail(wrong)
        }
    }

    @TestFactory
    fun logging(): List<DynamicTest> {
        val doc = JSONObject(file("exploration.json"))
        val cases = doc.getJSONArray("cases").objects().associateBy { it.getString("name") }
        return doc.getJSONArray("logging").objects().map { l ->
            DynamicTest.dynamicTest("logging/${l.getString("case")}") {
                val c = cases.getValue(l.getString("case"))
                val a = l.getJSONObject("args")
                val slate = explore(c.getJSONArray("order").let { o -> List(o.length()) { o.getInt(it) } },
                                    c.getInt("slots"), c.getDouble("epsilon"), flat(c.getJSONArray("draws")))
                val items = plain(a.getJSONArray("items")) as List<*>
                val info = RequestInfo(a.getString("request_id"), a.getString("user"), a.getString("arm"),
                                       a.getString("policy"), a.getDouble("timestamp"),
                                       modelVersion = a.optString("model_version").ifEmpty { null },
                                       epsilon = a.getDouble("epsilon"),
                                       latencyMs = if (a.has("latency_ms")) a.getDouble("latency_ms") else null,
                                       error = if (a.has("error") && !a.isNull("error")) a.getString("error") else null,
                                       shadow = if (a.has("shadow")) a.getJSONArray("shadow").let {
                                           Pair(it.getString(0), plain(it.getJSONArray(1)) as List<*>)
                                       } else null,
                                       bucket = if (a.has("bucket")) a.getDouble("bucket") else null)
                val got = requestEvents(info, items, slate) + tapEvent(a.getString("request_id"), items[slate.shown[0]],
                                                                       1764720003.0)
                val same = sameJson(got.map { plain(JSONObject(it.toString())) }, plain(l.getJSONArray("expected")))
                val wrong = if (same) null else "got $got"
                groups.getOrPut("logging") { ArrayList() }.add(wrong?.let { "${l.getString("case")}: $it" })
                if (wrong != null) fail(wrong)
            }
        }
    }

    @TestFactory
    fun storeScenarios(): List<DynamicTest> = releases.getJSONArray("scenarios").objects().map { scenario ->
        DynamicTest.dynamicTest("store/${scenario.getString("name")}") {
            val contracts = releases.getJSONArray("contracts").let { a -> (0 until a.length()).map { a.getInt(it) } }
            var store = ReleaseStore(listOf(keys.getValue("test")), releases.getString("client_version"), contracts)
            var wrong: String? = null
            for ((i, step) in scenario.getJSONArray("steps").objects().withIndex()) {
                wrong = when {
                    step.has("install") -> store.install(archive(step.getString("install")))
                        .let { if (it == step.getString("expect")) null else "step $i: install gave $it" }
                    step.has("restart") -> step.getJSONObject("restart").let { r ->
                        store = ReleaseStore(listOf(keys.getValue("test")), releases.getString("client_version"),
                                             contracts, if (r.isNull("floor")) null else r.getString("floor"))
                        store.restore(archive(r.getString("installed")),
                                      if (r.isNull("previous")) null else archive(r.getString("previous")))
                            .let { if (it == step.getString("expect")) null else "step $i: restore gave $it" }
                    }
                    step.has("rollback") -> store.rollback()
                        .let { if (it == step.getBoolean("expect")) null else "step $i: rollback gave $it" }
                    else -> step.getJSONObject("users").let { users ->
                        users.keySet().sorted().firstNotNullOfOrNull { u ->
                            val got = store.forUser(u)?.record?.version
                            val want = if (users.isNull(u)) null else users.getString(u)
                            if (got == want) null else "step $i: $u ranks with $got, want $want"
                        }
                    }
                }
                if (wrong != null) break
            }
            groups.getOrPut("store") { ArrayList() }.add(wrong?.let { "${scenario.getString("name")}: $it" })
            if (wrong != null) fail(wrong)
        }
    }

    /** served.tar: a real bundle as a release: its files make the bundle, its model file's bytes the session. */
    @TestFactory
    fun served(): List<DynamicTest> {
        val served = releases.getJSONObject("served")
        val release = openRelease(archive(served.getString("archive")), listOf(keys.getValue("test")))
        val bundle = release.bundle()
        val model = release.files.getValue(served.getString("model_file"))
        val session = OrtEnvironment.getEnvironment().createSession(model)
        val ranker = Ranker(bundle, OnnxScoringModel(session, bundle.features))
        return served.getJSONArray("cases").objects().map { c ->
            DynamicTest.dynamicTest("served/${c.getString("what")}") {
                val got = ranker.rank(request(c.getJSONObject("request")))
                val wrong = if (got.by == "model" && json(got.items) == json(plain(c.getJSONArray("ranked")))) null
                    else "ranked by ${got.by} (${got.reason}): ${got.items}"
                groups.getOrPut("served") { ArrayList() }.add(wrong?.let { "${c.getString("what")}: $it" })
                if (wrong != null) fail(wrong)
            }
        }
    }

    @TestFactory
    fun buckets(): List<DynamicTest> = releases.getJSONArray("buckets").objects().map { b ->
        DynamicTest.dynamicTest("bucket/${b.getString("user")}") {
            val value = bucket(b.getString("user"), b.getString("salt"))
            val inside = b.getJSONObject("in_rollout")
            val wrong = if (value != b.getDouble("bucket")) "bucket $value, want ${b.getDouble("bucket")}"
                else if (inside.keySet().any { (value < it.toDouble()) != inside.getBoolean(it) }) "in_rollout differs"
                else null
            groups.getOrPut("bucket") { ArrayList() }.add(wrong?.let { "${b.getString("user")}: $it" })
            if (wrong != null) fail(wrong)
        }
    }

    @TestFactory
    fun exploration(): List<DynamicTest> = JSONObject(file("exploration.json")).getJSONArray("cases").objects().map { c ->
        DynamicTest.dynamicTest("exploration/${c.getString("name")}") {
            val want = c.getJSONObject("expected")
            val got = explore(c.getJSONArray("order").let { a -> List(a.length()) { a.getInt(it) } }, c.getInt("slots"),
                              c.getDouble("epsilon"), flat(c.getJSONArray("draws")))
            val wantP = flat(want.getJSONArray("propensities"))
            val same = got.shown == flat(want.getJSONArray("shown")).map { it.toInt() } &&
                got.explored == want.getBoolean("explored") && got.propensities.size == wantP.size &&
                got.propensities.indices.all { Math.abs(got.propensities[it] - wantP[it]) <= 1e-15 }
            val wrong = if (same) null else "got $got"
            groups.getOrPut("exploration") { ArrayList() }.add(wrong?.let { "${c.getString("name")}: $it" })
            if (wrong != null) fail(wrong)
        }
    }

    @AfterAll
    fun report() {
        val out = groups.mapValues { (_, r) -> mapOf("passed" to r.count { it == null }, "failed" to r.filterNotNull()) }
        File(property("edgeship.report"), "conformance.json").writeText(json(mapOf("client" to "kotlin (JVM)", "groups" to out)))
    }
}
