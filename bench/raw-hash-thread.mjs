// The hand-written ceiling of the CPU benchmark: one worker thread hashes items [from, to] with the
// same processor module, no runtime around it (no reader, chunks, packing, pool or commits), and
// answers with a checksum the benchmark checks. Plain JavaScript: worker threads get no TS loader.
import { parentPort, workerData } from 'node:worker_threads';

const { module, from, to, rounds } = workerData;
const { default: hash } = await import(module);
const checksums = [];
for (let n = from; n <= to; n++) checksums.push(Number.parseInt(hash({ n, rounds }).h.slice(0, 8), 16));
parentPort.postMessage(checksums);
