import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/domain/errors.js';
import { JobParameters } from '../../src/domain/job-parameters.js';
import type { JobRepository } from '../../src/repository/job-repository.js';
import { openLmdbJobRepository } from '../../src/testing.js';
import { describeJobRepositoryContract } from './job-repository.contract.js';

const scratch = mkdtempSync(join(tmpdir(), 'tsbatch-lmdb-contract-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let counter = 0;
const freshDirectory = () => join(scratch, `store-${++counter}`);


describeJobRepositoryContract(
  'lmdb',
  async () => {
    const directory = freshDirectory();
    let current: JobRepository = openLmdbJobRepository(directory);
    return {
      repository: current,
      reopen: async () => {
        await current.close();
        current = openLmdbJobRepository(directory);
        return current;
      },
      cleanup: async () => {
        await current.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  }
);

/** Expects openLmdbJobRepository(path) to throw STORE_UNAVAILABLE, and returns the error. */
function openError(path: string): StoreUnavailableError {
  let repository: JobRepository;
  try {
    repository = openLmdbJobRepository(path);
  } catch (error) {
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).code).toBe('STORE_UNAVAILABLE');
    return error as StoreUnavailableError;
  }
  void repository.close();
  throw new Error(`openLmdbJobRepository('${path}') opened a store`);
}

/** Root with CAP_DAC_OVERRIDE writes through a 0o500 directory, so the permission check cannot fail there. */
function writesThroughReadOnlyDirectory(): boolean {
  const probe = join(scratch, 'probe-read-only');
  mkdirSync(probe);
  chmodSync(probe, 0o500);
  try {
    writeFileSync(join(probe, 'file'), 'x');
    return true;
  } catch {
    return false;
  } finally {
    chmodSync(probe, 0o700);
    rmSync(probe, { recursive: true, force: true });
  }
}
const privileged = process.getuid?.() === 0 && writesThroughReadOnlyDirectory();

describe('openLmdbJobRepository on bad paths', () => {
  it('throws STORE_UNAVAILABLE naming the path when the path is a regular file', () => {
    const file = join(scratch, 'not-a-directory.txt');
    writeFileSync(file, 'hello');
    const error = openError(file);
    expect(error.path).toBe(file);
    expect(error.message).toContain(file);
    expect(error.message).toContain('is a file');
    expect(statSync(file).isFile()).toBe(true);
  });

  it('throws STORE_UNAVAILABLE naming the path when a parent of the path is a regular file', () => {
    const file = join(scratch, 'parent-file.txt');
    writeFileSync(file, 'hello');
    const path = join(file, 'store');
    const error = openError(path);
    expect(error.path).toBe(path);
    expect(error.message).toContain(path);
  });

  it.skipIf(privileged)(
    `throws STORE_UNAVAILABLE naming the path for a directory without write permission (0o500)${
      privileged ? ' [skipped: running as root, which can still write into a 0o500 directory]' : ''
    }`,
    () => {
      const directory = join(scratch, 'read-only');
      mkdirSync(directory);
      chmodSync(directory, 0o500);
      try {
        const error = openError(directory);
        expect(error.path).toBe(directory);
        expect(error.message).toContain(directory);
        expect(error.message).toContain('not writable');
      } finally {
        chmodSync(directory, 0o700);
      }
    },
  );

  it('creates a missing directory, with its parents', async () => {
    const directory = join(scratch, 'missing', 'nested', 'store');
    const repository = openLmdbJobRepository(directory);
    try {
      expect(statSync(directory).isDirectory()).toBe(true);
      const execution = await repository.createJobExecution({ jobName: 'j', parameters: JobParameters.of({}), restartable: true });
      expect(execution.status).toBe('STARTING');
    } finally {
      await repository.close();
    }
    expect(existsSync(directory)).toBe(true);
  });
});

describe('two lmdb repositories on one directory (as two processes would share it)', () => {
  it('see each other’s commits without reopening, and cannot both launch one instance', async () => {
    const directory = freshDirectory();
    const a = openLmdbJobRepository(directory);
    const b = openLmdbJobRepository(directory);
    try {
      const request = { jobName: 'shared', parameters: JobParameters.of({ day: 1 }), restartable: true };
      const results = await Promise.allSettled([a.createJobExecution(request), b.createJobExecution(request)]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const started = results.find((r): r is PromiseFulfilledResult<Awaited<ReturnType<JobRepository['createJobExecution']>>> => r.status === 'fulfilled')!.value;
      expect((await b.getJobExecution(started.id))?.status).toBe('STARTING');

      started.status = 'FAILED';
      await a.updateJobExecution(started);
      expect((await b.getJobExecution(started.id))?.status).toBe('FAILED');
      const restarted = await b.createJobExecution(request);
      expect(restarted.jobInstance.id).toBe(started.jobInstance.id);
      expect((await a.getLastJobExecution(started.jobInstance.id))?.id).toBe(restarted.id);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
