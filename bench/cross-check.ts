/**
 * Checks, outside the timed part, that both sides stored the same things: the same number of item
 * records with equal values under equal keys, a step record with the same fields and counts, and a
 * step context with the same keys and values. A benchmark that compares unequal work is worthless,
 * so a mismatch stops the run.
 */
import { open } from 'lmdb';
import { isDeepStrictEqual } from 'node:util';
import { CHUNK_SEQUENCE_KEY, ITEM_STORE, READ_COUNT_KEY } from './workload.js';

const ITEM_PREFIX = `u/${ITEM_STORE}\u001f`;
const RANGE_END = '\uffff';

interface StoredSummary {
  readonly itemCount: number;
  readonly samples: ReadonlyArray<{ key: string; value: unknown }>;
  readonly stepFields: readonly string[];
  readonly stepCounts: Readonly<Record<string, unknown>>;
  readonly context: unknown;
}

const COUNT_FIELDS = [
  'readCount',
  'writeCount',
  'filterCount',
  'commitCount',
  'rollbackCount',
  'readSkipCount',
  'processSkipCount',
  'writeSkipCount',
] as const;

function summarize(dataFile: string, items: number): StoredSummary {
  const db = open<unknown, string>({ path: dataFile, compression: false, readOnly: true });
  try {
    const itemCount = db.getKeysCount({ start: ITEM_PREFIX, end: ITEM_PREFIX + RANGE_END });
    const sampleIds = [1, 2, Math.ceil(items / 2), items];
    const samples = sampleIds.map((id) => {
      const key = ITEM_PREFIX + String(id).padStart(10, '0');
      return { key, value: db.get(key) };
    });
    // tsbatch's store holds exactly one step; the baseline's too. Both under se/<12 digits>.
    const stepEntries = [...db.getRange({ start: 'se/', end: 'se/' + RANGE_END })];
    const contextEntries = [...db.getRange({ start: 'sc/', end: 'sc/' + RANGE_END })];
    const step = stepEntries[0]?.value;
    if (stepEntries.length !== 1 || contextEntries.length !== 1 || typeof step !== 'object' || step === null) {
      throw new Error(`${dataFile}: expected one step record and one step context, found ${stepEntries.length} and ${contextEntries.length}`);
    }
    const stepRecord = step as Record<string, unknown>;
    const stepCounts = Object.fromEntries(COUNT_FIELDS.map((field) => [field, stepRecord[field]]));
    return { itemCount, samples, stepFields: Object.keys(stepRecord), stepCounts, context: contextEntries[0]?.value };
  } finally {
    db.close().catch(() => undefined);
  }
}

export function crossCheck(tsbatchFile: string, baselineFile: string, items: number, chunkSize: number): void {
  const ours = summarize(tsbatchFile, items);
  const theirs = summarize(baselineFile, items);
  const problems: string[] = [];
  if (ours.itemCount !== items) problems.push(`tsbatch stored ${ours.itemCount} item records, expected ${items}`);
  if (theirs.itemCount !== items) problems.push(`baseline stored ${theirs.itemCount} item records, expected ${items}`);
  if (!isDeepStrictEqual(ours.samples, theirs.samples)) problems.push(`item records differ: ${JSON.stringify(ours.samples)} vs ${JSON.stringify(theirs.samples)}`);
  if (!isDeepStrictEqual(ours.stepFields, theirs.stepFields)) problems.push(`step record fields differ: ${ours.stepFields.join()} vs ${theirs.stepFields.join()}`);
  // tsbatch's final step record is the one written at COMPLETED (commitCount included); the
  // baseline's is its last chunk commit. The counts must agree.
  if (!isDeepStrictEqual(ours.stepCounts, theirs.stepCounts)) {
    problems.push(`step counts differ: ${JSON.stringify(ours.stepCounts)} vs ${JSON.stringify(theirs.stepCounts)}`);
  }
  const expectedContext = { [READ_COUNT_KEY]: items, [CHUNK_SEQUENCE_KEY]: Math.ceil(items / chunkSize) };
  if (!isDeepStrictEqual(ours.context, expectedContext)) problems.push(`tsbatch step context ${JSON.stringify(ours.context)}, expected ${JSON.stringify(expectedContext)}`);
  if (!isDeepStrictEqual(theirs.context, expectedContext)) problems.push(`baseline step context ${JSON.stringify(theirs.context)}, expected ${JSON.stringify(expectedContext)}`);
  if (problems.length > 0) throw new Error(`The two sides did not store the same records (chunk ${chunkSize}):\n- ${problems.join('\n- ')}`);
}
