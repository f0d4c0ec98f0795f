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
  const outcomes = [];
  for (const item of request.items) {
    try {
      const output = await processor(item);
      outcomes.push({ ok: true, output: output ?? null });
    } catch (error) {
      outcomes.push({ ok: false, error: serialize(error) });
    }
  }
  return { kind: 'process-chunk-result', outcomes };
}
