// Runs test/browser/page.html in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): the
// package (compiled), onnxruntime-web, LiteRT.js and a bundle served from 127.0.0.1. Usage:
// node build/test/browser.js BUNDLE [REPORT.json]; exit 1 if any file disagrees with the bundle's vectors.
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url)); // build/test
const root = path.resolve(here, "..", ".."); // the package
const TYPES: Record<string, string> = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
  ".json": "application/json", ".html": "text/html" };

function serve(bundle: string): http.Server {
  const routes: [string, string][] = [
    ["/client/", path.join(root, "build", "src")], ["/page/", path.join(root, "test", "browser")],
    ["/ort/", path.join(root, "node_modules", "onnxruntime-web", "dist")],
    ["/litert/", path.join(root, "node_modules", "@litertjs", "core")], ["/bundle/", bundle],
    ["/modules/", path.join(root, "node_modules")], // what the page's import map names
  ];
  return http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    const route = routes.find(([prefix]) => url.startsWith(prefix));
    const file = route && path.resolve(route[1], url.slice(route[0].length));
    if (!route || !file || !file.startsWith(path.resolve(route[1])) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
}

async function main(): Promise<number> {
  const [bundle, report] = process.argv.slice(2);
  const server = serve(path.resolve(bundle));
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as AddressInfo).port;
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"], // playwright gives it a fresh profile of its own
  });
  try {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on("console", (m) => logs.push(m.text()));
    page.on("pageerror", (e) => logs.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => logs.push(`request failed: ${r.url()}`));
    page.on("response", (r) => { if (r.status() >= 400) logs.push(`${r.status()} ${r.url()}`); });
    await page.goto(`http://127.0.0.1:${port}/page/page.html`);
    try {
      await page.waitForFunction(() => (window as unknown as { __done?: boolean }).__done === true, null,
                                 { timeout: Number(process.env.EDGESHIP_BROWSER_TIMEOUT_MS ?? 120_000) });
    } catch (e) {
      throw new Error(`${String(e)}\n${logs.join("\n")}`);
    }
    const result = await page.evaluate(() => (window as unknown as { __result: unknown }).__result) as
      { failures?: string[]; error?: string };
    const out = { client: "web (headless Chromium)", ...result, console: logs.slice(-20) };
    if (report) fs.writeFileSync(report, JSON.stringify(out, null, 2));
    console.log(JSON.stringify(out, null, 2));
    return result.error || (result.failures ?? []).length > 0 ? 1 : 0;
  } finally {
    await browser.close();
    server.close();
  }
}

main().then((code) => process.exit(code), (e) => { console.error(e); process.exit(2); });
