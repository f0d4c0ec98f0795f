import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createSilentLogger } from '../../src/observe/pino-logger.js';
import { StoreDispatcher } from '../../src/remote/store-dispatcher.js';
import type { KvStore } from '../../src/repository/kv-store.js';
import { MemoryKvStore } from '../../src/repository/in-memory/memory-kv-store.js';
import { LmdbKvStore } from '../../src/repository/lmdb/lmdb-kv-store.js';
import { type DispatcherFixture, describeDispatcherContract } from './dispatcher.contract.js';

const logger = createSilentLogger();

/** The store dispatcher on `store`; a second dispatcher is another StoreDispatcher on the same store, as a second consumer in the same process would open it. */
function storeFixture(store: KvStore, cleanup: () => Promise<void> = () => store.close()): DispatcherFixture {
  return {
    dispatcher: new StoreDispatcher(store, logger),
    store,
    second: async () => new StoreDispatcher(store, logger),
    // A StoreDispatcher holds nothing of its own (its close() is a no-op): closing the store closes everything.
    close: cleanup,
  };
}

describeDispatcherContract('store (memory)', async () => storeFixture(new MemoryKvStore()));

const scratch = mkdtempSync(join(tmpdir(), 'tsbatch-store-dispatcher-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let directories = 0;

describeDispatcherContract('store (lmdb)', async () => {
  const directory = join(scratch, `store-${++directories}`);
  const store = LmdbKvStore.open(directory);
  return storeFixture(store, async () => {
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });
});
