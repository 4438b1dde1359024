// Releases (edgeship release): a downloaded archive checked before any of it is trusted, in the order every
// client follows (docs/releases.md): the archive is plain files, the Ed25519 signature of release.json's exact
// bytes verifies with one of the app's keys, release.json is a release record signed by that key, and every file
// is the one it lists (none missing, none extra); then whether this client may install it. WebCrypto only
// (Ed25519, SHA-256): Node >= 20 and current browsers.
import { readBundle, type Bundle } from "./bundle.js";

export type ReleaseErrorCode =
  | "bad_archive" | "not_a_release" | "bad_signature" | "bad_record" | "missing_file" | "unlisted_file"
  | "checksum_mismatch" | "client_too_old" | "contract_unsupported" | "downgrade";

/** A release this client must not use: `code` is the suite's (clients/conformance/releases). */
export class ReleaseError extends Error {
  constructor(readonly code: ReleaseErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = "ReleaseError";
  }
}

export interface ReleaseRecord {
  schema_version: number; kind: string; version: string; contract_version: number; min_client: string;
  rollout: number; salt: string; kill_switch: boolean; previous: { version: string; release_sha256: string } | null;
  key_id: string; files: Record<string, string>;
}

export interface Release {
  record: ReleaseRecord;
  releaseSha256: string;
  /** bundle-relative path -> content */
  files: Map<string, Uint8Array>;
}

interface Subtle {
  importKey(format: "spki", key: Uint8Array, algorithm: { name: "Ed25519" }, extractable: boolean,
    usages: ["verify"]): Promise<unknown>;
  verify(algorithm: "Ed25519", key: unknown, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
  digest(algorithm: "SHA-256", data: Uint8Array): Promise<ArrayBuffer>;
}

const subtle = (): Subtle => (globalThis as unknown as { crypto: { subtle: Subtle } }).crypto.subtle;
const hex = (bytes: ArrayBuffer | Uint8Array): string =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
const utf8 = new TextEncoder();

export async function sha256Hex(data: Uint8Array): Promise<string> {
  return hex(await subtle().digest("SHA-256", data));
}

/** An app's public key: the PEM release.pub (SubjectPublicKeyInfo), and its id (the first 16 hex digits of the
 *  SHA-256 of the 32 raw key bytes, the last 32 of the DER). */
export interface PublicKey { id: string; der: Uint8Array }

export async function publicKey(pem: string): Promise<PublicKey> {
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  if (der.length !== 44) throw new ReleaseError("bad_signature", "the public key is not an Ed25519 key");
  return { id: (await sha256Hex(der.subarray(12))).slice(0, 16), der };
}

const text = (bytes: Uint8Array, start: number, length: number): string => {
  const field = bytes.subarray(start, start + length);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
};

/** A POSIX ustar archive of regular files: name -> content; anything else is refused. */
export function readTar(bytes: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let at = 0;
  while (true) {
    if (at + 512 > bytes.length) throw new ReleaseError("bad_archive", "the archive ends inside a header");
    const header = bytes.subarray(at, at + 512);
    if (header.every((b) => b === 0)) return files;  // the end-of-archive blocks
    const checksum = parseInt(text(header, 148, 8).trim(), 8);
    const sum = header.reduce((s, b, i) => s + (i >= 148 && i < 156 ? 32 : b), 0);
    if (checksum !== sum) throw new ReleaseError("bad_archive", `a header's checksum is wrong at byte ${at}`);
    const prefix = text(header, 345, 155), short = text(header, 0, 100);
    const name = prefix ? `${prefix}/${short}` : short;
    const type = String.fromCharCode(header[156]);
    const size = parseInt(text(header, 124, 12).trim() || "0", 8);
    if (type !== "0" && type !== "\0") throw new ReleaseError("bad_archive", `${name} is not a regular file`);
    const parts = name.split("/");
    if (name.startsWith("/") || name.includes("\\") || parts.some((p) => p === ".." || p === "." || p === "")) {
      throw new ReleaseError("bad_archive", `${JSON.stringify(name)} is not a plain relative path`);
    }
    if (files.has(name)) throw new ReleaseError("bad_archive", `${name} appears twice`);
    const start = at + 512;
    if (start + size > bytes.length) throw new ReleaseError("bad_archive", `${name} is cut short`);
    files.set(name, bytes.slice(start, start + size));
    at = start + Math.ceil(size / 512) * 512;
  }
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** -1, 0 or 1; a string that is not MAJOR.MINOR.PATCH throws. */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER.exec(a), pb = SEMVER.exec(b);
  if (!pa || !pb) throw new ReleaseError("bad_record", `not a MAJOR.MINOR.PATCH version: ${!pa ? a : b}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function asRecord(value: unknown): ReleaseRecord {
  const r = value as ReleaseRecord;
  const ok = typeof r === "object" && r !== null && typeof r.version === "string" && SEMVER.test(r.version)
    && typeof r.min_client === "string" && SEMVER.test(r.min_client) && typeof r.contract_version === "number"
    && typeof r.rollout === "number" && typeof r.salt === "string" && typeof r.kill_switch === "boolean"
    && typeof r.key_id === "string" && typeof r.files === "object" && r.files !== null
    && (r.previous === null || typeof r.previous?.version === "string");
  if (!ok) throw new ReleaseError("bad_record", "release.json is not a release record");
  return r;
}

/** The downloaded bytes checked; throws ReleaseError with the suite's code. */
export async function openRelease(bytes: Uint8Array, keys: PublicKey[]): Promise<Release> {
  let entries: Map<string, Uint8Array>;
  try {
    entries = readTar(bytes);
  } catch (e) {
    if (e instanceof ReleaseError) throw e;
    throw new ReleaseError("bad_archive", String(e));
  }
  const body = entries.get("release.json"), signature = entries.get("release.sig");
  if (!body || !signature) throw new ReleaseError("not_a_release", "no release.json or release.sig");
  entries.delete("release.json");
  entries.delete("release.sig");
  let signer: PublicKey | undefined;
  for (const key of keys) {
    const imported = await subtle().importKey("spki", key.der, { name: "Ed25519" }, false, ["verify"]);
    if (await subtle().verify("Ed25519", imported, signature, body)) {
      signer = key;
      break;
    }
  }
  if (!signer) throw new ReleaseError("bad_signature", "release.json's signature verifies with none of the keys");
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new ReleaseError("bad_record", "release.json is not JSON");
  }
  const record = asRecord(parsed);
  if (record.kind !== "edgeship-release" || record.schema_version !== 1 || record.key_id !== signer.id) {
    throw new ReleaseError("bad_record",
      `kind ${record.kind}, schema_version ${record.schema_version}, key ${record.key_id}`);
  }
  const listed = Object.keys(record.files).sort();
  const missing = listed.find((name) => !entries.has(name));
  if (missing) throw new ReleaseError("missing_file", `missing ${missing}`);
  const extra = [...entries.keys()].sort().find((name) => !(name in record.files));
  if (extra) throw new ReleaseError("unlisted_file", `not in release.json: ${extra}`);
  for (const name of listed) {
    if (await sha256Hex(entries.get(name)!) !== record.files[name]) {
      throw new ReleaseError("checksum_mismatch", `${name}: not the file release.json was signed with`);
    }
  }
  const files = new Map<string, Uint8Array>();
  for (const [name, data] of entries) files.set(name.replace(/^bundle\//, ""), data);
  return { record, releaseSha256: await sha256Hex(body), files };
}

/** An opened release's data files as a Bundle; its model file is release.files.get(name), e.g. for an ONNX
 *  Runtime session created from those bytes. */
export function releaseBundle(release: Release): Bundle {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  return readBundle((name) => {
    const data = release.files.get(name);
    return data === undefined ? null : decoder.decode(data);
  });
}

/** Whether this client may install a checked release over `installed` (a version, or null for none). */
export function admit(record: ReleaseRecord, clientVersion: string, contracts: readonly number[],
  installed: string | null): void {
  if (compareVersions(clientVersion, record.min_client) < 0) {
    throw new ReleaseError("client_too_old", `release ${record.version} needs client ${record.min_client}`);
  }
  if (!contracts.includes(record.contract_version)) {
    throw new ReleaseError("contract_unsupported",
      `release ${record.version} uses contract ${record.contract_version}`);
  }
  if (installed !== null && compareVersions(record.version, installed) <= 0 && record.previous?.version !== installed) {
    throw new ReleaseError("downgrade",
      `release ${record.version} is not newer than ${installed} and does not replace it`);
  }
}

/** The user's bucket for a release: the first 4 bytes of SHA-256(UTF-8(salt + ":" + user)) / 2^32, in [0, 1). */
export async function bucket(userId: string, salt: string): Promise<number> {
  const digest = new Uint8Array(await subtle().digest("SHA-256", utf8.encode(`${salt}:${userId}`)));
  return (((digest[0] << 24) >>> 0) + (digest[1] << 16) + (digest[2] << 8) + digest[3]) / 2 ** 32;
}

/** Whether this user gets the release (and the kill switch is off). */
export async function inRollout(userId: string, record: ReleaseRecord): Promise<boolean> {
  return !record.kill_switch && (await bucket(userId, record.salt)) < record.rollout;
}

/** What a client keeps: the installed release and the one before it, and which ranks for a user
 *  (docs/releases.md; the suite's scenarios). A failed install changes nothing; a kill-switch release drops the
 *  release it kills and keeps the one before; the newest version accepted is the floor, so a rolled-back or
 *  killed release is never taken again. */
export class ReleaseStore {
  private slots: [Release | null, Release | null] = [null, null];
  private latest: string | null = null;

  /** floor: the newest version a store of this app accepted before (persisted across restarts: `floor`). */
  constructor(private readonly keys: PublicKey[], private readonly clientVersion: string,
    private readonly contracts: readonly number[] = [2], floor: string | null = null) {
    this.latest = floor;
  }

  get installed(): Release | null { return this.slots[0]; }
  get previous(): Release | null { return this.slots[1]; }
  /** The newest version accepted: persist it with the installed and previous archives. */
  get floor(): string | null { return this.latest; }

  /** After an app restart: the archives the app kept, checked again like a download (signature, record, files,
   *  client, contract) but not against the floor, which stays; "ok" or the code; nothing changes on an error. */
  async restore(installed: Uint8Array, previous: Uint8Array | null = null): Promise<"ok" | ReleaseErrorCode> {
    const pair: (Release | null)[] = [];
    try {
      for (const bytes of [installed, previous]) {
        const release = bytes === null ? null : await openRelease(bytes, this.keys);
        if (release !== null) admit(release.record, this.clientVersion, this.contracts, null);
        pair.push(release);
      }
    } catch (e) {
      if (e instanceof ReleaseError) return e.code;
      throw e;
    }
    this.slots = [pair[0], pair[1]];
    const version = pair[0]!.record.version;
    if (this.latest === null || compareVersions(version, this.latest) > 0) this.latest = version;
    return "ok";
  }

  /** "ok", or the code of the check that refused it. */
  async install(bytes: Uint8Array): Promise<"ok" | ReleaseErrorCode> {
    let release: Release;
    try {
      release = await openRelease(bytes, this.keys);
      admit(release.record, this.clientVersion, this.contracts, this.latest);
    } catch (e) {
      if (e instanceof ReleaseError) return e.code;
      throw e;
    }
    let kept = this.installed;
    const killed = release.record.kill_switch ? release.record.previous : null;
    if (kept && killed && kept.releaseSha256 === killed.release_sha256) kept = this.previous;
    this.slots = [release, kept];  // one assignment: a reader sees the old pair or the new one
    this.latest = release.record.version;
    return "ok";
  }

  rollback(): boolean {
    if (!this.previous) return false;
    this.slots = [this.previous, null];
    return true;
  }

  /** The release this user ranks with, or null for fallback.json. */
  async forUser(userId: string): Promise<Release | null> {
    for (const release of this.slots) {
      if (release && await inRollout(userId, release.record)) return release;
    }
    return null;
  }
}
