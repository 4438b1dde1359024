package dev.edgeship.client

/** A raw request the contract cannot encode: [code] is one of features.json's `errors`, [field] names what is wrong. */
class ContractError(val code: String, val field: String, detail: String = "") :
    IllegalArgumentException("$code: $field" + if (detail.isEmpty()) "" else " ($detail)")

/** A bundle this library cannot read (another contract version, a missing or malformed file). */
class BundleError(message: String) : IllegalStateException(message)
