import CryptoKit
import Foundation

// Releases (edgeship release): a downloaded archive checked before any of it is trusted, in the order every client
// follows (docs/releases.md): the archive is plain files, the Ed25519 signature of release.json's exact bytes
// verifies with one of the app's keys, release.json is a release record signed by that key, and every file is the
// one it lists (none missing, none extra); then whether this client may install it. CryptoKit (iOS 13+, macOS 10.15+).
// Written to the suite's cases (clients/conformance/releases) like the TypeScript and Kotlin clients; never compiled
// on edgeship's machines (no Swift toolchain there): `swift test` on a Mac runs the suite.

/// A release this client must not use: `code` is the suite's.
public struct ReleaseError: Error, CustomStringConvertible {
    public let code: String
    public let message: String
    public var description: String { "\(code): \(message)" }
}

func sha256Hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

/// An app's release key: release.pub (PEM SubjectPublicKeyInfo) and its id, the first 16 hex digits of the SHA-256
/// of the 32 raw key bytes (the last 32 of the DER).
public struct ReleaseKey {
    public let id: String
    let key: Curve25519.Signing.PublicKey

    public init(pem: String) throws {
        let body = pem.replacingOccurrences(of: "-----BEGIN PUBLIC KEY-----", with: "")
            .replacingOccurrences(of: "-----END PUBLIC KEY-----", with: "")
            .components(separatedBy: .whitespacesAndNewlines).joined()
        guard let der = Data(base64Encoded: body), der.count == 44 else {
            throw ReleaseError(code: "bad_signature", message: "the public key is not an Ed25519 key")
        }
        let raw = Data(der.suffix(32))
        key = try Curve25519.Signing.PublicKey(rawRepresentation: raw)
        id = String(sha256Hex(raw).prefix(16))
    }
}

public struct PreviousRelease {
    public let version: String
    public let releaseSha256: String
}

public struct ReleaseRecord {
    public let version: String
    public let contractVersion: Int
    public let minClient: String
    public let rollout: Double
    public let salt: String
    public let killSwitch: Bool
    public let previous: PreviousRelease?
    public let keyId: String
    public let files: [String: String]
}

/// A release whose signature and files were checked; `files`: bundle-relative path -> content.
public struct Release {
    public let record: ReleaseRecord
    public let releaseSha256: String
    public let files: [String: Data]

    /// Its data files as a Bundle; its model file is files[name] (e.g. compiled with MLModel.compileModel).
    public func bundle() throws -> Bundle { try Bundle(read: { files[$0] }) }
}

private func bad(_ code: String, _ message: String) -> ReleaseError { ReleaseError(code: code, message: message) }

private func field(_ b: [UInt8], _ start: Int, _ length: Int) -> String {
    var end = start
    while end < start + length && b[end] != 0 { end += 1 }
    return String(decoding: b[start..<end], as: UTF8.self)
}

/// A POSIX ustar archive of regular files: name -> content; anything else is refused.
public func readTar(_ data: Data) throws -> [String: Data] {
    let b = [UInt8](data)
    var files: [String: Data] = [:]
    var at = 0
    while true {
        guard at + 512 <= b.count else { throw bad("bad_archive", "the archive ends inside a header") }
        if b[at..<at + 512].allSatisfy({ $0 == 0 }) { return files }  // the end-of-archive blocks
        let checksum = Int(field(b, at + 148, 8).trimmingCharacters(in: .whitespaces), radix: 8)
        var sum = 0
        for i in 0..<512 { sum += (148..<156).contains(i) ? 32 : Int(b[at + i]) }
        guard checksum == sum else { throw bad("bad_archive", "a header's checksum is wrong at byte \(at)") }
        let prefix = field(b, at + 345, 155), short = field(b, at, 100)
        let name = prefix.isEmpty ? short : "\(prefix)/\(short)"
        let type = b[at + 156]
        let sizeText = field(b, at + 124, 12).trimmingCharacters(in: .whitespaces)
        guard let size = Int(sizeText.isEmpty ? "0" : sizeText, radix: 8) else {
            throw bad("bad_archive", "\(name): the size is not an octal number")
        }
        guard type == UInt8(ascii: "0") || type == 0 else { throw bad("bad_archive", "\(name) is not a regular file") }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        if name.hasPrefix("/") || name.contains("\\")
            || parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) {
            throw bad("bad_archive", "\"\(name)\" is not a plain relative path")
        }
        guard files[name] == nil else { throw bad("bad_archive", "\(name) appears twice") }
        let start = at + 512
        guard start + size <= b.count else { throw bad("bad_archive", "\(name) is cut short") }
        files[name] = Data(b[start..<start + size])
        at = start + (size + 511) / 512 * 512
    }
}

/// MAJOR.MINOR.PATCH as three numbers (no leading zeros), or nil.
private func semver(_ s: String) -> [Int]? {
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3 else { return nil }
    var out: [Int] = []
    for p in parts {
        guard !p.isEmpty, p.allSatisfy({ $0.isASCII && $0.isNumber }), p == "0" || !p.hasPrefix("0"),
              let n = Int(p) else { return nil }
        out.append(n)
    }
    return out
}

/// Negative, zero or positive as `a` is older, the same or newer than `b`.
public func compareVersions(_ a: String, _ b: String) throws -> Int {
    guard let pa = semver(a) else { throw bad("bad_record", "not a MAJOR.MINOR.PATCH version: \(a)") }
    guard let pb = semver(b) else { throw bad("bad_record", "not a MAJOR.MINOR.PATCH version: \(b)") }
    for (x, y) in zip(pa, pb) where x != y { return x < y ? -1 : 1 }
    return 0
}

private func number(_ any: Any?) -> NSNumber? {
    guard let n = any as? NSNumber, !isBool(n) else { return nil }
    return n
}

private func record(_ o: [String: Any]) -> ReleaseRecord? {
    guard let version = o["version"] as? String, semver(version) != nil,
          let minClient = o["min_client"] as? String, semver(minClient) != nil,
          let contract = number(o["contract_version"]), let rollout = number(o["rollout"]),
          let salt = o["salt"] as? String, let kill = o["kill_switch"], isBool(kill),
          let keyId = o["key_id"] as? String, let files = o["files"] as? [String: String] else { return nil }
    var previous: PreviousRelease? = nil
    if let p = o["previous"], !(p is NSNull) {
        guard let p = p as? [String: Any], let v = p["version"] as? String, let sha = p["release_sha256"] as? String
        else { return nil }
        previous = PreviousRelease(version: v, releaseSha256: sha)
    }
    return ReleaseRecord(version: version, contractVersion: contract.intValue, minClient: minClient,
                         rollout: rollout.doubleValue, salt: salt, killSwitch: (kill as? Bool) ?? false,
                         previous: previous, keyId: keyId, files: files)
}

/// The downloaded bytes checked; throws ReleaseError with the suite's code.
public func openRelease(_ bytes: Data, keys: [ReleaseKey]) throws -> Release {
    var entries = try readTar(bytes)
    guard let body = entries["release.json"], let signature = entries["release.sig"] else {
        throw bad("not_a_release", "no release.json or release.sig")
    }
    entries["release.json"] = nil
    entries["release.sig"] = nil
    guard let signer = keys.first(where: { $0.key.isValidSignature(signature, for: body) }) else {
        throw bad("bad_signature", "release.json's signature verifies with none of the keys")
    }
    guard String(data: body, encoding: .utf8) != nil,
          let parsed = try? JSONSerialization.jsonObject(with: body), let o = parsed as? [String: Any] else {
        throw bad("bad_record", "release.json is not JSON")
    }
    guard let r = record(o) else { throw bad("bad_record", "release.json is not a release record") }
    let kind = o["kind"] as? String, schema = number(o["schema_version"])?.intValue
    guard kind == "edgeship-release", schema == 1, r.keyId == signer.id else {
        throw bad("bad_record", "kind \(kind ?? "?"), schema_version \(schema ?? -1), key \(r.keyId)")
    }
    let listed = r.files.keys.sorted()
    if let missing = listed.first(where: { entries[$0] == nil }) { throw bad("missing_file", "missing \(missing)") }
    if let extra = entries.keys.sorted().first(where: { r.files[$0] == nil }) {
        throw bad("unlisted_file", "not in release.json: \(extra)")
    }
    for name in listed where sha256Hex(entries[name]!) != r.files[name]! {
        throw bad("checksum_mismatch", "\(name): not the file release.json was signed with")
    }
    var files: [String: Data] = [:]
    for (name, data) in entries { files[name.hasPrefix("bundle/") ? String(name.dropFirst(7)) : name] = data }
    return Release(record: r, releaseSha256: sha256Hex(body), files: files)
}

/// Whether this client may install a checked release over `installed` (a version, or nil for none).
public func admit(_ record: ReleaseRecord, clientVersion: String, contracts: [Int], installed: String?) throws {
    if try compareVersions(clientVersion, record.minClient) < 0 {
        throw bad("client_too_old", "release \(record.version) needs client \(record.minClient)")
    }
    if !contracts.contains(record.contractVersion) {
        throw bad("contract_unsupported", "release \(record.version) uses contract \(record.contractVersion)")
    }
    if let installed = installed, try compareVersions(record.version, installed) <= 0,
       record.previous?.version != installed {
        throw bad("downgrade", "release \(record.version) is not newer than \(installed) and does not replace it")
    }
}

/// The user's bucket for a release: the first 4 bytes of SHA-256(UTF-8(salt + ":" + user)) / 2^32, in [0, 1).
public func bucket(_ userId: String, salt: String) -> Double {
    let d = Array(SHA256.hash(data: Data("\(salt):\(userId)".utf8)))
    let u = UInt32(d[0]) << 24 | UInt32(d[1]) << 16 | UInt32(d[2]) << 8 | UInt32(d[3])
    return Double(u) / 4294967296.0
}

/// Whether this user gets the release (and its kill switch is off).
public func inRollout(_ userId: String, _ record: ReleaseRecord) -> Bool {
    !record.killSwitch && bucket(userId, salt: record.salt) < record.rollout
}

/// What a client keeps: the installed release and the one before it, and which ranks for a user (docs/releases.md;
/// the suite's scenarios). A failed install changes nothing; a kill-switch release drops the release it kills and
/// keeps the one before; the newest version accepted is the floor, so a rolled-back or killed release is never
/// taken again. Thread-safe: the pair is read and replaced under one lock.
public final class ReleaseStore {
    private let keys: [ReleaseKey]
    private let clientVersion: String
    private let contracts: [Int]
    private let lock = NSLock()
    private var slots: (Release?, Release?) = (nil, nil)
    private var latest: String?

    /// floor: the newest version a store of this app accepted before (persisted across restarts: `floor`).
    public init(keys: [ReleaseKey], clientVersion: String, contracts: [Int] = [2], floor: String? = nil) {
        self.keys = keys
        self.clientVersion = clientVersion
        self.contracts = contracts
        latest = floor
    }

    /// The newest version accepted: persist it with the installed and previous archives.
    public var floor: String? {
        lock.lock()
        defer { lock.unlock() }
        return latest
    }

    /// After an app restart: the archives the app kept, checked again like a download (signature, record, files,
    /// client, contract) but not against the floor, which stays; "ok" or the code; nothing changes on an error.
    public func restore(_ installed: Data, previous: Data? = nil) -> String {
        var pair: [Release?] = []
        do {
            for bytes in [installed, previous] {
                guard let bytes = bytes else { pair.append(nil); continue }
                let release = try openRelease(bytes, keys: keys)
                try admit(release.record, clientVersion: clientVersion, contracts: contracts, installed: nil)
                pair.append(release)
            }
        } catch {
            return (error as? ReleaseError)?.code ?? "bad_archive"
        }
        lock.lock()
        defer { lock.unlock() }
        slots = (pair[0], pair[1])
        let version = pair[0]!.record.version
        if latest == nil || (try? compareVersions(version, latest!)) ?? 0 > 0 { latest = version }
        return "ok"
    }

    private func both() -> (Release?, Release?) {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }

    public var installed: Release? { both().0 }
    public var previous: Release? { both().1 }

    /// "ok", or the code of the check that refused it.
    public func install(_ bytes: Data) -> String {
        let release: Release
        do {
            release = try openRelease(bytes, keys: keys)
        } catch {
            return (error as? ReleaseError)?.code ?? "bad_archive"
        }
        lock.lock()
        defer { lock.unlock() }
        do {
            try admit(release.record, clientVersion: clientVersion, contracts: contracts, installed: latest)
        } catch {
            return (error as? ReleaseError)?.code ?? "bad_record"
        }
        var kept = slots.0
        if release.record.killSwitch, let killed = release.record.previous, let now = slots.0,
           now.releaseSha256 == killed.releaseSha256 {
            kept = slots.1
        }
        slots = (release, kept)
        latest = release.record.version
        return "ok"
    }

    public func rollback() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let before = slots.1 else { return false }
        slots = (before, nil)
        return true
    }

    /// The release this user ranks with, or nil for fallback.json.
    public func forUser(_ userId: String) -> Release? {
        let (now, before) = both()
        return [now, before].compactMap { $0 }.first { inRollout(userId, $0.record) }
    }
}
