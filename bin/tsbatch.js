#!/usr/bin/env node
// The tsbatch command. In a checkout (src/ present) it runs the TypeScript sources through tsx, so
// `npx tsbatch` works without a build step and never runs a stale dist/; an installed package
// (which ships dist/ and bin/ only) runs the built JavaScript.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/cli/main.ts', import.meta.url);
const built = new URL('../dist/src/cli/main.js', import.meta.url);

if (existsSync(fileURLToPath(source))) {
  const { register } = await import('tsx/esm/api');
  register();
  // Tells the CLI's module loader that TypeScript job modules can already be imported.
  globalThis[Symbol.for('tsbatch.tsx-registered')] = true;
  await import(source.href);
} else if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  process.stderr.write('tsbatch: INVALID_INSTALLATION: neither src/cli/main.ts nor dist/src/cli/main.js exists; run `npm run build`.\n');
  process.exit(2);
}
