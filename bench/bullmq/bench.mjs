// BullMQ side of bench/jobs.sh: the same no-op workload as `painel bench jobs`, on the same
// Redis, with the same concurrency. Prints the same RESULT lines.
//   node bench.mjs --redis redis://127.0.0.1:6379/ --jobs 50000 --concurrency 1,10,50 --latency 300
import { Queue, Worker } from 'bullmq';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const url = new URL(args.redis ?? 'redis://127.0.0.1:6379/');
const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
const jobs = Number(args.jobs ?? 50000);
const concurrencies = String(args.concurrency ?? '1,10,50').split(',').map(Number);
const samples = Number(args.latency ?? 300);
const name = 'painel-bench';

const queue = new Queue(name, { connection });

async function fill(n) {
  for (let left = n; left > 0; left -= 1000) {
    const k = Math.min(1000, left);
    await queue.addBulk(Array.from({ length: k }, () => ({ name: 'noop', data: {} })));
  }
}

async function drain(n, concurrency) {
  let done = 0;
  let resolve;
  const finished = new Promise((r) => (resolve = r));
  const start = process.hrtime.bigint();
  const worker = new Worker(name, async () => {}, { connection, concurrency, autorun: false });
  worker.on('completed', () => {
    done += 1;
    if (done === n) resolve();
  });
  worker.run();
  await finished;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  await worker.close();
  const counts = await queue.getJobCounts('completed');
  if (counts.completed !== n) throw new Error(`expected ${n} completed, found ${counts.completed}`);
  return secs;
}

async function latency(n) {
  const started = new Map();
  const worker = new Worker(name, async (job) => started.get(job.data.i)?.(process.hrtime.bigint()), {
    connection,
    concurrency: 10,
  });
  await worker.waitUntilReady();
  await new Promise((r) => setTimeout(r, 500));
  const out = [];
  for (let i = 0; i < n; i++) {
    const seen = new Promise((r) => started.set(i, r));
    const t0 = process.hrtime.bigint();
    await queue.add('mark', { i });
    const at = await seen;
    out.push(Number(at - t0) / 1e6);
    await new Promise((r) => setTimeout(r, 5));
  }
  await worker.close();
  return out.sort((a, b) => a - b);
}

const pct = (s, q) => s[Math.round((s.length - 1) * q)];

console.log(`bullmq bench: ${jobs} no-op jobs, Redis ${url.host}`);
console.log(`${'engine'.padEnd(10)} ${'concurrency'.padStart(12)} ${'seconds'.padStart(10)} ${'jobs/s'.padStart(12)}`);
for (const c of concurrencies) {
  await queue.obliterate({ force: true });
  await fill(jobs);
  const secs = await drain(jobs, c);
  const rate = jobs / secs;
  console.log(`${'bullmq'.padEnd(10)} ${String(c).padStart(12)} ${secs.toFixed(2).padStart(10)} ${rate.toFixed(0).padStart(12)}`);
  console.log(`RESULT engine=bullmq metric=throughput concurrency=${c} jobs_per_s=${rate.toFixed(0)}`);
}
if (samples > 0) {
  await queue.obliterate({ force: true });
  const s = await latency(samples);
  console.log(`bullmq     enqueue→start (${samples} samples): p50 ${pct(s, 0.5).toFixed(2)} ms, p95 ${pct(s, 0.95).toFixed(2)} ms`);
  console.log(`RESULT engine=bullmq metric=latency mode=redis p50_ms=${pct(s, 0.5).toFixed(3)} p95_ms=${pct(s, 0.95).toFixed(3)}`);
}
await queue.obliterate({ force: true });
await queue.close();
