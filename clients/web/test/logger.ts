// ImpressionLogger against sinks that fail and queues that overflow: every line reaches the sink once, in order,
// or is counted as dropped. Usage: node build/test/logger.js; exit 1 on a failure.
import { ImpressionLogger, type LogEvent } from "../src/index.js";

const failures: string[] = [];
const check = (ok: boolean, what: string) => { if (!ok) failures.push(what); };
const events = (from: number, n: number): LogEvent[] =>
  Array.from({ length: n }, (_, i) => ({ event: "tap", request_id: `r${from + i}`, item: "x", timestamp: null }));
const ids = (text: string[]) => text.join("").split("\n").filter(Boolean).map((l) => JSON.parse(l).request_id);

// batches of 3: the sink sees whole batches; flush() hands over the rest
let got: string[] = [];
const batched = new ImpressionLogger((lines) => { got.push(lines); }, 3);
await batched.log(events(0, 2));
check(got.length === 0 && batched.pending === 2, "no line leaves before a batch is full");
await batched.log(events(2, 2));
check(got.length === 1 && batched.pending === 0, "a full batch leaves at once");
await batched.log(events(4, 1));
check(await batched.flush() && ids(got).join() === "r0,r1,r2,r3,r4", "flush hands over the rest, in order");

// a sink that fails twice: the lines stay queued, in front of newer ones, and leave once it works
got = [];
let failing = 2;
const flaky = new ImpressionLogger(async (lines) => {
  if (failing-- > 0) throw new Error("offline");
  got.push(lines);
}, 2);
await flaky.log(events(0, 2));
await flaky.log(events(2, 2));
check(got.length === 0 && flaky.pending === 4, "a failing sink keeps every line");
check(await flaky.flush() && ids(got).join() === "r0,r1,r2,r3" && flaky.pending === 0,
  "the kept lines leave first, in order, once the sink works");

// a line logged while a flush is in flight, which then fails: the failed lines go back in front of it
got = [];
let fail = true;
const racing = new ImpressionLogger(async (lines) => {
  await new Promise((resolve) => setTimeout(resolve, 5));
  if (fail) throw new Error("offline");
  got.push(lines);
}, 100);
await racing.log(events(0, 2));
const inFlight = racing.flush();
await racing.log(events(2, 1));
check(!(await inFlight) && racing.pending === 3, "a failed flush keeps its lines");
fail = false;
check(await racing.flush() && ids(got).join() === "r0,r1,r2", "the failed lines go back in front of newer ones");

// a queue past maxLines drops the oldest and counts them
const full = new ImpressionLogger(() => { throw new Error("offline"); }, 100, 5);
await full.log(events(0, 8));
check(full.pending === 5 && full.dropped === 3, "past maxLines the oldest are dropped and counted");
got = [];
const drained = new ImpressionLogger((lines) => { got.push(lines); }, 100, 5);
await drained.log(events(0, 8));
check(await drained.flush() && ids(got).join() === "r3,r4,r5,r6,r7", "what is left is the newest, in order");

for (const f of failures) console.log(`FAILED ${f}`);
console.log(`logger: ${failures.length === 0 ? "ok" : `${failures.length} failed`}`);
process.exit(failures.length === 0 ? 0 : 1);
