package dev.edgeship.client

import java.math.BigDecimal
import java.math.BigInteger

/** features.json raw_values.canonical: the one string form of a categorical value, whatever type holds it. */
fun canonical(value: Any?, field: String): String = when (value) {
    is String -> value
    is Boolean -> if (value) "true" else "false"
    is Int, is Long, is Short, is Byte, is BigInteger -> value.toString()
    is Double, is Float -> {
        val d = (value as Number).toDouble()
        if (d.isFinite() && d == Math.floor(d)) BigDecimal(d).toBigInteger().toString()
        else throw ContractError("bad_value", field, "$value: a number with a fraction; pass the log's string")
    }
    is BigDecimal -> {
        val s = value.stripTrailingZeros()
        if (s.scale() <= 0) s.toBigIntegerExact().toString()
        else throw ContractError("bad_value", field, "$value: a number with a fraction; pass the log's string")
    }
    else -> throw ContractError("bad_value", field, "a categorical value is a string, number or boolean")
}

/** 32-bit FNV-1a over the UTF-8 bytes, as an unsigned value. */
fun fnv1a32(text: String, offsetBasis: Long, prime: Long): Long {
    var h = offsetBasis.toInt()
    val p = prime.toInt()
    for (b in text.toByteArray(Charsets.UTF_8)) {
        h = (h xor (b.toInt() and 0xFF)) * p // Int multiplication wraps mod 2^32, as the rule says
    }
    return h.toLong() and 0xFFFFFFFFL
}

private val DIGITS = Regex("-?[0-9]+")

/** features.json raw_values.index: an integer, an integral number or a string of decimal digits, in [0, size). */
fun indexId(value: Any?, size: Int, field: String): Int {
    val i: BigInteger = when {
        value is Boolean -> throw ContractError("bad_value", field, "an index is an integer")
        value is Int || value is Long || value is Short || value is Byte ->
            BigInteger.valueOf((value as Number).toLong())
        value is BigInteger -> value
        (value is Double || value is Float) &&
            (value as Number).toDouble().let { it.isFinite() && it == Math.floor(it) } ->
            BigDecimal((value as Number).toDouble()).toBigInteger()
        value is BigDecimal && value.stripTrailingZeros().scale() <= 0 -> value.toBigIntegerExact()
        value is String && DIGITS.matches(value) -> BigInteger(value)
        else -> throw ContractError("bad_value", field, "$value is not an integer")
    }
    if (i.signum() < 0 || i >= BigInteger.valueOf(size.toLong())) {
        throw ContractError("out_of_range", field, "$i is not in [0, $size)")
    }
    return i.toInt()
}
