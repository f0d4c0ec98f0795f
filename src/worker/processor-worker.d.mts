// Types of processor-worker.mjs (plain JavaScript, see there why) for the TypeScript that imports it.
import type { PackedValues, ProcessChunkRequest, ProcessChunkResponse } from './protocol.js';

/** The thread's task: processes the request's items with the module it names. */
export default function processChunk(request: ProcessChunkRequest): Promise<ProcessChunkResponse>;

/** Packs `values[start, end)` as records when they share one shape; otherwise returns them as they are. */
export function packValues(values: readonly unknown[], start?: number, end?: number): PackedValues;

/** The values `packValues` packed. */
export function unpackValues(packed: PackedValues): unknown[];
