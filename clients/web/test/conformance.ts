// The conformance suite (clients/conformance) through this package: every case, its group's verdict in a report.
// Usage: node build/test/conformance.js SUITE_DIR [REPORT.json]; exit 1 if any case fails.
import * as fs from "node:fs";
import * as path from "node:path";
import { applyRules, ContractError, Encoder, fallbackScores, NO_RULES, type Encoded, type FallbackTable, type Features,
  type RawRequest, type RuleSet, type Vocabularies } from "../src/index.js";

interface Case {
  id: string; group: string; contract: string; request: RawRequest; scores: number[] | null; rules: RuleSet | null;
  expect: { calls?: Record<string, unknown>[]; order?: unknown[]; scores?: number[]; error?: string; field?: string };
}

const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);

function sameTensors(got: Encoded, want: Record<string, unknown>): string | null {
  for (const [name, value] of Object.entries(want)) {
    const g = Array.from(got[name as keyof Encoded]), w = flat(value);
    const close = name === "candidate_features"
      ? g.length === w.length && g.every((x, i) => Math.abs(x - w[i]) <= 1e-6)
      : g.length === w.length && g.every((x, i) => x === w[i]);
    if (!close) return `${name}: got ${JSON.stringify(g)}, want ${JSON.stringify(w)}`;
  }
  return null;
}

function check(c: Case, encoder: Encoder, table: FallbackTable): string | null {
  const e = c.expect;
  try {
    if (c.group === "encode" || c.group === "errors") {
      const got = encoder.encode(c.request);
      return e.error ? `encoded; want error ${e.error}` : sameTensors(got, e.calls![0]);
    }
    if (c.group === "merge") {
      const calls = encoder.calls(c.request).map((r) => encoder.encode(r));
      if (calls.length !== e.calls!.length) return `${calls.length} calls, want ${e.calls!.length}`;
      for (let i = 0; i < calls.length; i++) {
        const wrong = sameTensors(calls[i], e.calls![i]);
        if (wrong) return `call ${i}: ${wrong}`;
      }
      return order(applyRules(NO_RULES, c.scores!, c.request, encoder), c);
    }
    if (c.group === "fallback") {
      const scores = fallbackScores(table, c.request, encoder);
      if (!scores.every((s, i) => Math.abs(s - e.scores![i]) <= 1e-12)) return `scores ${JSON.stringify(scores)}`;
      return order(applyRules(NO_RULES, scores, c.request, encoder), c);
    }
    return order(applyRules(c.rules!, c.scores!, c.request, encoder), c);
  } catch (err) {
    if (!(err instanceof ContractError)) return `threw ${String(err)}`;
    if (err.code !== e.error || err.field !== e.field) return `error ${err.code} ${err.field}, want ${e.error} ${e.field}`;
    return null;
  }
}

function order(indices: number[], c: Case): string | null {
  const got = indices.map((i) => c.request.items[i]);
  return JSON.stringify(got) === JSON.stringify(c.expect.order) ? null
    : `order ${JSON.stringify(got)}, want ${JSON.stringify(c.expect.order)}`;
}

const [suite, report] = process.argv.slice(2);
const read = (...parts: string[]) => JSON.parse(fs.readFileSync(path.join(suite, ...parts), "utf8"));
const doc = read("cases.json") as { contract_version: number; cases: Case[] };
const encoders = new Map<string, [Encoder, FallbackTable]>();
const groups: Record<string, { passed: number; failed: string[] }> = {};
for (const c of doc.cases) {
  if (!encoders.has(c.contract)) {
    encoders.set(c.contract, [new Encoder(read("contracts", c.contract, "features.json") as Features,
                                          read("contracts", c.contract, "vocabularies.json") as Vocabularies),
                              read("contracts", c.contract, "fallback.json") as FallbackTable]);
  }
  const [encoder, table] = encoders.get(c.contract)!;
  const wrong = check(c, encoder, table);
  const g = (groups[c.group] ??= { passed: 0, failed: [] });
  if (wrong === null) g.passed++;
  else g.failed.push(`${c.id}: ${wrong}`);
}
if (report) fs.writeFileSync(report, JSON.stringify({ client: "web (Node)", groups }, null, 2));
for (const [name, g] of Object.entries(groups)) {
  console.log(`${name}: ${g.passed} passed, ${g.failed.length} failed`);
  for (const f of g.failed) console.log(`  FAILED ${f}`);
}
process.exit(Object.values(groups).some((g) => g.failed.length > 0) ? 1 : 0);
