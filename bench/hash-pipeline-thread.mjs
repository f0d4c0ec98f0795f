// A worker thread of the CPU benchmark's hand-written pipeline: processes each slice of items it is
// sent with the processor module and answers with the outputs, as a user would write it without a
// runtime (postMessage's structured clone both ways, no packing). Plain JavaScript: worker threads
// get no TS loader.
import { parentPort, workerData } from 'node:worker_threads';

const { default: process } = await import(workerData.module);
parentPort.on('message', ({ id, items }) => {
  const outputs = new Array(items.length);
  for (let index = 0; index < items.length; index++) outputs[index] = process(items[index]);
  parentPort.postMessage({ id, outputs });
});
