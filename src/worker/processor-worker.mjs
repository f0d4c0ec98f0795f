// The worker-thread entry of worker processors. Plain JavaScript on purpose: worker threads do not
// inherit a TypeScript loader, and this file must load anywhere Node runs. Its messages follow
// protocol.ts (ProcessChunkRequest in, ProcessChunkResponse out).

/** @type {Map<string, (item: unknown) => unknown>} */
const processors = new Map();

async function processorOf(moduleUrl) {
  let processor = processors.get(moduleUrl);
  if (!processor) {
    const module = await import(moduleUrl);
    const candidate = module.default ?? module.process;
    processor = typeof candidate === 'function' ? candidate : candidate?.process?.bind(candidate);
    if (typeof processor !== 'function') {
      throw new TypeError(`${moduleUrl} exports no processor: export default (item) => result, or export function process(item)`);
    }
    processors.set(moduleUrl, processor);
  }
  return processor;
}

function serialize(error) {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, code: typeof error.code === 'string' ? error.code : undefined, stack: error.stack };
  }
  return { name: 'NonErrorThrown', message: String(error) };
}

/** @param {{ kind: 'process-chunk', moduleUrl: string, items: unknown[] }} request */
export default async function processChunk(request) {
  const processor = await processorOf(request.moduleUrl);
  const { items } = request;
  const outputs = new Array(items.length);
  const errors = [];
  for (let index = 0; index < items.length; index++) {
    try {
      let output = processor(items[index]);
      // Only asynchronous processors pay for an await.
      if (output !== null && typeof output === 'object' && typeof output.then === 'function') output = await output;
      outputs[index] = output ?? null;
    } catch (error) {
      outputs[index] = null;
      errors.push([index, serialize(error)]);
    }
  }
  return { kind: 'process-chunk-result', outputs, errors };
}
