import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchRuntime, iterableReader, job, step } from '../../../src/index.js';
import { ProgressLine, readCountsOfLastCompletedRun } from '../../../src/cli/progress.js';

let runtime: BatchRuntime | undefined;
// The line is for people at a terminal: under CI (as .ci/run sets) it stays off, so these tests
// play a terminal outside CI.
const ci = process.env['CI'];
beforeEach(() => {
  delete process.env['CI'];
});
afterEach(async () => {
  if (ci === undefined) delete process.env['CI'];
  else process.env['CI'] = ci;
  await runtime?.close();
  runtime = undefined;
});

/** A terminal as far as cli-progress can tell, that keeps what was drawn. */
function fakeTerminal(): NodeJS.WriteStream & { text: () => string } {
  let written = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString('utf8');
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text: () => string };
  Object.assign(stream, { isTTY: true, columns: 160, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, text: () => written });
  return stream;
}

const counting = (count: number, delayMs: number) =>
  job('count')
    .start(
      step('load')
        .chunk<number, number>(10)
        .reader(() => iterableReader(Array.from({ length: count }, (_, i) => i), 'numbers'))
        .writer({ write: () => new Promise((resolve) => setTimeout(resolve, delayMs)) })
        .build(),
    )
    .build();

describe('the run progress line', () => {
  it("estimates each step's reads from the job's last completed run", async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    expect(await readCountsOfLastCompletedRun(runtime.explorer, 'count', -1)).toEqual(new Map());
    const first = await runtime.launcher.run(counting(200, 0), { run: 1 });
    expect(await readCountsOfLastCompletedRun(runtime.explorer, 'count', -1)).toEqual(new Map([['load', 200]]));
    // The running execution itself never counts as its own estimate.
    expect(await readCountsOfLastCompletedRun(runtime.explorer, 'count', first.id)).toEqual(new Map());
  });

  it('draws a bar with a percentage on a terminal when there is an estimate, and plain counts when not', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const withoutHistory = fakeTerminal();
    const launched = await runtime.launcher.launch(counting(200, 5), { run: 1 });
    const plain = await ProgressLine.start(runtime.explorer, launched.execution.id, 'count', 20, withoutHistory);
    await launched.done;
    await new Promise((resolve) => setTimeout(resolve, 60));
    plain?.stop();
    expect(withoutHistory.text()).toMatch(/count #1 \w+ \| step load \| read \d+/);
    expect(withoutHistory.text()).not.toContain('%');

    const terminal = fakeTerminal();
    const second = await runtime.launcher.launch(counting(200, 5), { run: 2 });
    const line = await ProgressLine.start(runtime.explorer, second.execution.id, 'count', 20, terminal);
    await second.done;
    await new Promise((resolve) => setTimeout(resolve, 60));
    line?.stop();
    expect(terminal.text()).toMatch(/count #2 \w+ [=-]{24} \d+% \| step load \| read \d+/);
  });

  it('stays silent under CI, even on a terminal', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    process.env['CI'] = 'true';
    expect(await ProgressLine.start(runtime.explorer, 1, 'count', 20, fakeTerminal())).toBeUndefined();
  });

  it('stays silent outside a terminal', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const pipe = fakeTerminal();
    Object.assign(pipe, { isTTY: false });
    expect(await ProgressLine.start(runtime.explorer, 1, 'count', 20, pipe)).toBeUndefined();
  });
});
