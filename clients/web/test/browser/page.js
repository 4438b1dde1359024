// A bundle's testvectors_raw.json through @edgeship/client in the browser: onnxruntime-web (WASM) on the .onnx and
// .ort files, LiteRT.js (WASM) on the .tflite files. Served by test/browser.ts; the result lands in window.__result.
import * as client from "/client/index.js";
import * as ort from "/ort/ort.min.mjs";
import { loadAndCompile, loadLiteRt, Tensor } from "/litert/dist/index.js";

const text = async (name) => {
  const r = await fetch(`/bundle/${name}`);
  return r.ok ? r.text() : null;
};
const flat = (x) => (Array.isArray(x) ? x.flatMap(flat) : [x]);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function main() {
  ort.env.wasm.wasmPaths = "/ort/";
  ort.env.wasm.numThreads = 1; // the page is not cross-origin isolated: no SharedArrayBuffer
  await loadLiteRt("/litert/wasm/");
  const names = ["features.json", "vocabularies.json", "rules.json", "fallback.json"];
  const files = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await text(n)])));
  const bundle = client.readBundle((n) => files[n] ?? null);
  const vectors = JSON.parse(await text("testvectors_raw.json"));
  const report = { userAgent: navigator.userAgent, cases: vectors.cases.length, files: {}, failures: [] };
  const runnable = Object.keys(vectors.atol).filter((n) => /\.(onnx|ort)$/.test(n) ||
                                                          (n.endsWith(".tflite") && !n.includes("personal")));
  for (const name of runnable) {
    let model, runtime;
    if (name.endsWith(".tflite")) {
      model = new client.LiteRtScoringModel(await loadAndCompile(`/bundle/${name}`, { accelerator: "wasm" }), Tensor,
                                            bundle.features);
      runtime = "LiteRT.js (wasm)";
    } else {
      const session = await ort.InferenceSession.create(`/bundle/${name}`, { executionProviders: ["wasm"] });
      model = new client.OnnxScoringModel(session, ort.Tensor, bundle.features);
      runtime = "onnxruntime-web (wasm)";
    }
    const ranker = new client.Ranker(bundle, model);
    const r = (report.files[name] = { runtime, max_abs_error: 0, ranked: 0, with_rules: 0 });
    for (const [i, c] of vectors.cases.entries()) {
      const scores = await ranker.score(c.request);
      const want = flat(c.expected[name]).slice(0, scores.length);
      r.max_abs_error = Math.max(r.max_abs_error, ...scores.map((s, j) => Math.abs(s - want[j])));
      if (same(client.ranked(scores, scores.length).map((j) => c.request.items[j]), c.ranked[name])) r.ranked++;
      else report.failures.push(`cases[${i}].ranked[${name}]`);
      if (same((await ranker.rank(c.request)).items, c.with_rules[name])) r.with_rules++;
      else report.failures.push(`cases[${i}].with_rules[${name}]`);
    }
    if (r.max_abs_error > vectors.atol[name]) report.failures.push(`${name}: max |error| ${r.max_abs_error}`);
  }
  return report;
}

main().then((report) => { window.__result = report; }, (e) => { window.__result = { error: String(e?.stack ?? e) }; })
  .finally(() => {
    document.getElementById("out").textContent = JSON.stringify(window.__result, null, 2);
    window.__done = true;
  });
