import type { Clock } from '../support/clock.js';
import type { FaultPoints } from '../support/fault-points.js';
import { MemoryKvStore } from './in-memory/memory-kv-store.js';
import type { JobRepository } from './job-repository.js';
import { KvJobRepository } from './kv-job-repository.js';
import { LmdbKvStore } from './lmdb/lmdb-kv-store.js';
import { PgKvStore, type PgKvStoreOptions } from './postgres/pg-kv-store.js';

export interface RepositoryOptions {
  readonly clock?: Clock;
  readonly faults?: FaultPoints;
}

/** The default, durable repository: an LMDB store in `directory`, created if missing. */
export function openLmdbJobRepository(directory: string, options: RepositoryOptions = {}): JobRepository {
  return new KvJobRepository(LmdbKvStore.open(directory), options);
}

/** A repository that forgets everything when the process ends; restart works only within the process. */
export function createInMemoryJobRepository(options: RepositoryOptions = {}): JobRepository {
  return new KvJobRepository(new MemoryKvStore(), options);
}

/** A repository in PostgreSQL, shared by every process and host that opens the same database. */
export function openPostgresJobRepository(connectionString: string, options: RepositoryOptions & PgKvStoreOptions = {}): JobRepository {
  return new KvJobRepository(PgKvStore.open(connectionString, options), options);
}
