/** The work-chunk example runs as a user would run it, and ends with its report. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('examples/bulk-export.ts', () => {
  it('exports 12,000 resources into 24 NDJSON files through retried transient errors, and reports them', () => {
    const output = mkdtempSync(join(tmpdir(), 'tsbatch-example-'));
    try {
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'examples/bulk-export.ts', output], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/Instance [0-9a-f-]{36}: COMPLETED/);
      expect(run.stdout).toContain('report: {"files":24,"resources":{"Patient":6000,"Observation":6000}}');
      expect(run.stdout).toMatch(/errors retried: [1-9]/);
      const files = readdirSync(output);
      expect(files).toHaveLength(24);
      const lines = files.flatMap((file) => readFileSync(join(output, file), 'utf8').trim().split('\n'));
      expect(lines).toHaveLength(12_000);
      expect(new Set(lines).size).toBe(12_000);
    } finally {
      rmSync(output, { recursive: true, force: true });
    }
  });
});
