package dev.edgeship.client

import org.json.JSONException
import org.json.JSONObject
import java.security.KeyFactory
import java.security.MessageDigest
import java.security.PublicKey
import java.security.Signature
import java.security.spec.X509EncodedKeySpec
import java.util.Base64

/** A release this client must not use: [code] is the suite's (clients/conformance/releases). */
class ReleaseError(val code: String, message: String) : IllegalStateException("$code: $message")

/** An app's release key: release.pub (PEM SubjectPublicKeyInfo) and its id, the first 16 hex digits of the
 *  SHA-256 of the 32 raw key bytes (the last 32 of the DER). */
class ReleaseKey(pem: String) {
    private val der: ByteArray = Base64.getDecoder().decode(
        pem.replace(Regex("-----(BEGIN|END) PUBLIC KEY-----"), "").replace(Regex("\\s+"), ""))
    val key: PublicKey = KeyFactory.getInstance("Ed25519").generatePublic(X509EncodedKeySpec(der))
    val id: String = sha256Hex(der.copyOfRange(der.size - 32, der.size)).substring(0, 16)
}

data class PreviousRelease(val version: String, val releaseSha256: String)

data class ReleaseRecord(
    val version: String, val contractVersion: Int, val minClient: String, val rollout: Double, val salt: String,
    val killSwitch: Boolean, val previous: PreviousRelease?, val keyId: String, val files: Map<String, String>,
)

/** A release whose signature and files were checked; [files]: bundle-relative path -> content. */
class Release(val record: ReleaseRecord, val releaseSha256: String, val files: Map<String, ByteArray>) {
    /** Its data files as a [Bundle]; its model file is files[name], e.g. for an ONNX Runtime session. */
    fun bundle(): Bundle = Bundle.read { name -> files[name]?.toString(Charsets.UTF_8) }
}

internal fun sha256Hex(data: ByteArray): String =
    MessageDigest.getInstance("SHA-256").digest(data).joinToString("") { "%02x".format(it) }

private fun text(bytes: ByteArray, start: Int, length: Int): String {
    var end = start
    while (end < start + length && bytes[end] != 0.toByte()) end++
    return String(bytes, start, end - start, Charsets.UTF_8)
}

/** A POSIX ustar archive of regular files: name -> content; anything else is refused. */
fun readTar(bytes: ByteArray): Map<String, ByteArray> {
    val files = LinkedHashMap<String, ByteArray>()
    var at = 0
    while (true) {
        if (at + 512 > bytes.size) throw ReleaseError("bad_archive", "the archive ends inside a header")
        if ((at until at + 512).all { bytes[it] == 0.toByte() }) return files
        val checksum = text(bytes, at + 148, 8).trim().toIntOrNull(8)
        val sum = (0 until 512).sumOf { i -> if (i in 148 until 156) 32 else bytes[at + i].toInt() and 0xff }
        if (checksum != sum) throw ReleaseError("bad_archive", "a header's checksum is wrong at byte $at")
        val prefix = text(bytes, at + 345, 155)
        val name = if (prefix.isEmpty()) text(bytes, at, 100) else "$prefix/${text(bytes, at, 100)}"
        val type = bytes[at + 156].toInt().toChar()
        val size = text(bytes, at + 124, 12).trim().ifEmpty { "0" }.toLong(8)
        if (type != '0' && type != '\u0000') throw ReleaseError("bad_archive", "$name is not a regular file")
        val parts = name.split("/")
        if (name.startsWith("/") || name.contains("\\") || parts.any { it == ".." || it == "." || it.isEmpty() }) {
            throw ReleaseError("bad_archive", "\"$name\" is not a plain relative path")
        }
        if (name in files) throw ReleaseError("bad_archive", "$name appears twice")
        val start = at + 512
        if (start + size > bytes.size) throw ReleaseError("bad_archive", "$name is cut short")
        files[name] = bytes.copyOfRange(start, start + size.toInt())
        at = start + (((size + 511) / 512) * 512).toInt()
    }
}

private val SEMVER = Regex("^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$")

/** Negative, zero or positive as [a] is older, the same or newer than [b] (MAJOR.MINOR.PATCH). */
fun compareVersions(a: String, b: String): Int {
    val pa = SEMVER.matchEntire(a) ?: throw ReleaseError("bad_record", "not a MAJOR.MINOR.PATCH version: $a")
    val pb = SEMVER.matchEntire(b) ?: throw ReleaseError("bad_record", "not a MAJOR.MINOR.PATCH version: $b")
    for (i in 1..3) {
        val d = pa.groupValues[i].toLong().compareTo(pb.groupValues[i].toLong())
        if (d != 0) return d
    }
    return 0
}

private fun record(o: JSONObject): ReleaseRecord {
    val files = o.getJSONObject("files")
    val previous = if (o.isNull("previous")) null else o.getJSONObject("previous").let {
        PreviousRelease(it.getString("version"), it.getString("release_sha256"))
    }
    val r = ReleaseRecord(o.getString("version"), o.getInt("contract_version"), o.getString("min_client"),
                          o.getDouble("rollout"), o.getString("salt"), o.getBoolean("kill_switch"), previous,
                          o.getString("key_id"), files.keySet().associateWith { files.getString(it) })
    if (!SEMVER.matches(r.version) || !SEMVER.matches(r.minClient)) throw JSONException("version")
    return r
}

/** The downloaded bytes checked in the order every client follows; throws [ReleaseError] with the suite's code. */
fun openRelease(bytes: ByteArray, keys: List<ReleaseKey>): Release {
    val entries = HashMap(readTar(bytes))
    val body = entries.remove("release.json")
    val signature = entries.remove("release.sig")
    if (body == null || signature == null) throw ReleaseError("not_a_release", "no release.json or release.sig")
    val signer = keys.firstOrNull { key ->
        Signature.getInstance("Ed25519").run { initVerify(key.key); update(body); verify(signature) }
    } ?: throw ReleaseError("bad_signature", "release.json's signature verifies with none of the keys")
    val o = try {
        JSONObject(String(body, Charsets.UTF_8))
    } catch (e: JSONException) {
        throw ReleaseError("bad_record", "release.json is not JSON")
    }
    val r = try {
        record(o)
    } catch (e: JSONException) {
        throw ReleaseError("bad_record", "release.json is not a release record")
    }
    if (o.optString("kind") != "edgeship-release" || o.optInt("schema_version") != 1 || r.keyId != signer.id) {
        throw ReleaseError("bad_record",
                           "kind ${o.optString("kind")}, schema_version ${o.optInt("schema_version")}, key ${r.keyId}")
    }
    r.files.keys.sorted().firstOrNull { it !in entries }?.let { throw ReleaseError("missing_file", "missing $it") }
    entries.keys.sorted().firstOrNull { it !in r.files }?.let {
        throw ReleaseError("unlisted_file", "not in release.json: $it")
    }
    for (name in r.files.keys.sorted()) {
        if (sha256Hex(entries.getValue(name)) != r.files.getValue(name)) {
            throw ReleaseError("checksum_mismatch", "$name: not the file release.json was signed with")
        }
    }
    return Release(r, sha256Hex(body), entries.mapKeys { it.key.removePrefix("bundle/") })
}

/** Whether this client may install a checked release over [installed] (a version, or null for none). */
fun admit(record: ReleaseRecord, clientVersion: String, contracts: Collection<Int>, installed: String?) {
    if (compareVersions(clientVersion, record.minClient) < 0) {
        throw ReleaseError("client_too_old", "release ${record.version} needs client ${record.minClient}")
    }
    if (record.contractVersion !in contracts) {
        throw ReleaseError("contract_unsupported", "release ${record.version} uses contract ${record.contractVersion}")
    }
    if (installed != null && compareVersions(record.version, installed) <= 0 && record.previous?.version != installed) {
        throw ReleaseError("downgrade",
                           "release ${record.version} is not newer than $installed and does not replace it")
    }
}

/** The user's bucket for a release: the first 4 bytes of SHA-256(UTF-8(salt + ":" + user)) / 2^32, in [0, 1). */
fun bucket(userId: String, salt: String): Double {
    val d = MessageDigest.getInstance("SHA-256").digest("$salt:$userId".toByteArray(Charsets.UTF_8))
    val u = ((d[0].toLong() and 0xff) shl 24) or ((d[1].toLong() and 0xff) shl 16) or
        ((d[2].toLong() and 0xff) shl 8) or (d[3].toLong() and 0xff)
    return u.toDouble() / 4294967296.0
}

/** Whether this user gets the release (and its kill switch is off). */
fun inRollout(userId: String, record: ReleaseRecord): Boolean =
    !record.killSwitch && bucket(userId, record.salt) < record.rollout

/**
 * What a client keeps: the installed release and the one before it, and which ranks for a user (docs/releases.md;
 * the suite's scenarios). A failed install changes nothing; a kill-switch release drops the release it kills and
 * keeps the one before; the newest version accepted is the floor, so a rolled-back or killed release is never
 * taken again. Thread-safe: the pair is replaced in one volatile write.
 */
class ReleaseStore(private val keys: List<ReleaseKey>, private val clientVersion: String,
                   private val contracts: Collection<Int> = listOf(2), floor: String? = null) {
    @Volatile private var slots: Pair<Release?, Release?> = Pair(null, null)
    @Volatile private var latest: String? = floor

    val installed: Release? get() = slots.first
    val previous: Release? get() = slots.second
    /** The newest version accepted: persist it with the installed and previous archives (a restart passes it). */
    val floor: String? get() = latest

    /** After an app restart: the archives the app kept, checked again like a download (signature, record, files,
     *  client, contract) but not against the floor, which stays; "ok" or the code; nothing changes on an error. */
    @Synchronized
    fun restore(installed: ByteArray, previous: ByteArray? = null): String {
        val pair = try {
            listOf(installed, previous).map { bytes ->
                bytes?.let { openRelease(it, keys).also { r -> admit(r.record, clientVersion, contracts, null) } }
            }
        } catch (e: ReleaseError) {
            return e.code
        }
        slots = Pair(pair[0], pair[1])
        val version = pair[0]!!.record.version
        if (latest == null || compareVersions(version, latest!!) > 0) latest = version
        return "ok"
    }

    /** "ok", or the code of the check that refused it. */
    @Synchronized
    fun install(bytes: ByteArray): String {
        val release = try {
            openRelease(bytes, keys).also { admit(it.record, clientVersion, contracts, latest) }
        } catch (e: ReleaseError) {
            return e.code
        }
        val (now, before) = slots
        val killed = if (release.record.killSwitch) release.record.previous else null
        val kept = if (now != null && killed != null && now.releaseSha256 == killed.releaseSha256) before else now
        slots = Pair(release, kept)
        latest = release.record.version
        return "ok"
    }

    @Synchronized
    fun rollback(): Boolean {
        val before = slots.second ?: return false
        slots = Pair(before, null)
        return true
    }

    /** The release this user ranks with, or null for fallback.json. */
    fun forUser(userId: String): Release? = slots.toList().firstOrNull { it != null && inRollout(userId, it.record) }
}
