import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The dependency rules of DESIGN.md section 2 and STYLE.md: nothing imports upward, and each
 * third-party package stays in the one folder that owns it. A failing case names the file and
 * the import that broke the rule.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Folder → the internal folders it may import (besides itself). */
const allowed: Record<string, readonly string[]> = {
  'src/domain': [],
  'src/support': [],
  machines: ['src/domain'],
  'src/observe': ['src/domain', 'src/support'],
  'src/repository': ['src/domain', 'src/machines', 'machines', 'src/support'],
  'src/item': ['src/domain', 'src/support'],
  'src/worker': ['src/domain', 'src/support'],
  'src/step': ['src/domain', 'machines', 'src/repository', 'src/item', 'src/worker', 'src/support'],
  'src/flow': ['src/domain', 'machines', 'src/step', 'src/support', 'src/repository'],
  // Work-chunk jobs sit below launch, not above it as DESIGN.md first drew them: the runtime owns
  // `runtime.workChunks`, and the model needs nothing of steps, flows or launching.
  'src/workchunk': ['src/domain', 'src/support', 'machines', 'src/observe', 'src/repository', 'src/item'],
  // Remote partitioning: the manager's partition handler and the worker that claims partitions;
  // below launch, which wires it into the runtime.
  'src/remote': ['src/domain', 'src/support', 'machines', 'src/repository', 'src/step', 'src/flow'],
  'src/launch': ['src/domain', 'src/support', 'machines', 'src/observe', 'src/repository', 'src/item', 'src/worker', 'src/step', 'src/flow', 'src/workchunk', 'src/remote'],
  // The command line is built on the public API only: src/index.ts (a `.js` specifier, hence the
  // name), no folder; the test below checks that nothing else is imported.
  'src/cli': ['src/index.js', 'src/dashboard', 'src/present'],
  // JSON shapes and formats the command line and the dashboard share; the public API only.
  'src/present': ['src/index.js'],
  // The dashboard (tsbatch/dashboard) is built on the public API only, like the command line.
  'src/dashboard': ['src/index.js', 'src/present'],
};

/** Third-party package → the folders allowed to import it. */
const owners: Record<string, readonly string[]> = {
  lmdb: ['src/repository/lmdb', 'src/item/lmdb'],
  pino: ['src/observe'],
  piscina: ['src/worker'],
  rxjs: ['src/step', 'src/launch'],
  xstate: ['machines'],
  '@opentelemetry/api': ['src/observe'],
  pg: ['src/repository/postgres', 'src/remote/postgres'],
  'pg-boss': ['src/remote/postgres'],
  'prom-client': ['src/observe'],
  hono: ['src/dashboard'],
  '@hono': ['src/dashboard'],
};

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    specifiers.push((match[1] ?? match[2])!);
  }
  return specifiers;
}

function folderOf(path: string): string | undefined {
  const rel = relative(root, path).split('\\').join('/');
  if (rel.startsWith('machines/')) return 'machines';
  const [top, area] = rel.split('/');
  return top === 'src' && area && !area.endsWith('.ts') ? `src/${area}` : undefined;
}

const files = [...sourceFiles(join(root, 'src')), ...sourceFiles(join(root, 'machines'))];

describe('architecture', () => {
  it('finds the source files it checks', () => {
    expect(files.length).toBeGreaterThan(30);
  });

  it('has no upward or sideways imports between folders', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = folderOf(file);
      if (!from || !(from in allowed)) continue;
      for (const specifier of importsOf(file)) {
        if (!specifier.startsWith('.')) continue;
        const to = folderOf(resolve(dirname(file), specifier));
        if (!to || to === from) continue;
        if (!allowed[from]!.includes(to)) violations.push(`${relative(root, file)} imports ${specifier} (${from} → ${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('builds the command line on the public API only (src/index.ts, and tsbatch/dashboard for its command)', () => {
    const violations: string[] = [];
    for (const file of files.filter((f) => folderOf(f) === 'src/cli')) {
      for (const specifier of importsOf(file)) {
        if (!specifier.startsWith('.')) continue;
        const target = relative(root, resolve(dirname(file), specifier)).split('\\').join('/');
        const publicEntry = target === 'src/index.js' || target === 'src/dashboard/index.js' || target.startsWith('src/present/');
        if (!publicEntry && !target.startsWith('src/cli/')) violations.push(`${relative(root, file)} imports ${specifier}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps each third-party package in the folder that owns it', () => {
    const violations: string[] = [];
    for (const file of files) {
      const rel = relative(root, file).split('\\').join('/');
      for (const specifier of importsOf(file)) {
        const owner = owners[specifier.split('/')[0]!];
        if (owner && !owner.some((folder) => rel.startsWith(`${folder}/`))) violations.push(`${rel} imports ${specifier}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('has no console output in library code', () => {
    const offenders = files.filter((file) => /\bconsole\.(log|info|warn|error|debug)\(/.test(readFileSync(file, 'utf8')));
    expect(offenders.map((f) => relative(root, f))).toEqual([]);
  });

  it('keeps the public API in one explicit index without export-star barrels', () => {
    const index = readFileSync(join(root, 'src/index.ts'), 'utf8');
    expect(index).not.toMatch(/export \*/);
    for (const name of ['BatchRuntime', 'job', 'step', 'JobParameters', 'BatchStatus', 'ExitStatus', 'RepeatStatus']) {
      expect(index).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });
});
