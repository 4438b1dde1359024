package dev.edgeship.client

import org.json.JSONArray
import org.json.JSONObject
import java.io.File

/** JSON values as Kotlin values: objects as maps, arrays as lists, numbers as org.json parsed them. */
fun plain(x: Any?): Any? = when (x) {
    is JSONObject -> x.keySet().associateWith { plain(x.get(it)) }
    is JSONArray -> List(x.length()) { plain(x.get(it)) }
    JSONObject.NULL -> null
    else -> x
}

@Suppress("UNCHECKED_CAST")
fun request(o: JSONObject): RawRequest {
    val m = plain(o) as Map<String, Any?>
    return RawRequest(
        items = m["items"] as List<Any>,
        features = m["features"] as List<Map<String, Any?>>,
        context = m["context"] as Map<String, Any?>,
        timestamp = (m["timestamp"] as Number?)?.toDouble(),
        history = (m["history"] as List<Any>?) ?: emptyList(),
        attributes = (m["attributes"] as List<Map<String, String>>?) ?: emptyList(),
    )
}

fun flat(x: Any?): List<Double> = if (x is JSONArray) (0 until x.length()).flatMap { flat(x.get(it)) } else listOf((x as Number).toDouble())

fun property(name: String): File = File(System.getProperty(name) ?: error("-D$name is not set"))

/** JSON text of the values written out (the tests' reports). */
fun json(x: Any?): String = when (x) {
    is Map<*, *> -> JSONObject(x).toString(2)
    else -> JSONObject.valueToString(x)
}

fun JSONArray.strings(): List<String> = List(length()) { getString(it) }

/** JSON values equal as JSON: numbers by value (org.json may hold 0.0 as an Integer or a BigDecimal). */
fun sameJson(a: Any?, b: Any?): Boolean = when {
    a is Number && b is Number -> a.toDouble() == b.toDouble()
    a is Map<*, *> && b is Map<*, *> -> a.keys == b.keys && a.keys.all { sameJson(a[it], b[it]) }
    a is List<*> && b is List<*> -> a.size == b.size && a.indices.all { sameJson(a[it], b[it]) }
    else -> a == b
}
