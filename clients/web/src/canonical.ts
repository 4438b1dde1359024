import { ContractError } from "./errors.js";
import type { Features } from "./contract.js";

/** features.json raw_values.canonical: the one string form of a categorical value. JavaScript's String(12.0) is
 *  already "12"; BigInt keeps integers past 1e21 out of exponent notation, as Python writes them. */
export function canonical(value: unknown, field: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isFinite(value) && Number.isInteger(value)) return BigInt(value).toString();
    throw new ContractError("bad_value", field, `${value}: a number with a fraction; pass the log's string`);
  }
  throw new ContractError("bad_value", field, "a categorical value is a string, number or boolean");
}

/** 32-bit FNV-1a over the UTF-8 bytes (features.json `hash`). */
export function fnv1a32(text: string, hash: Features["hash"]): number {
  let h = hash.offset_basis >>> 0;
  for (const byte of new TextEncoder().encode(text)) {
    h = Math.imul((h ^ byte) >>> 0, hash.prime) >>> 0;
  }
  return h;
}

/** features.json raw_values.index: an integer, an integral number or a string of decimal digits, in [0, size). */
export function indexId(value: unknown, size: number, field: string): number {
  let i: number;
  if (typeof value === "number" && Number.isFinite(value) && Number.isInteger(value)) i = value;
  else if (typeof value === "string" && /^-?[0-9]+$/.test(value)) i = Number.parseInt(value, 10);
  else throw new ContractError("bad_value", field, `${JSON.stringify(value)} is not an integer`);
  if (!(i >= 0 && i < size)) throw new ContractError("out_of_range", field, `${i} is not in [0, ${size})`);
  return i;
}
