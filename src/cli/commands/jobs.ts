import { loadJobModule, registerJobs } from '../load-module.js';
import { openScratchRuntime } from '../open-runtime.js';
import { Output, type OutputOptions } from '../output.js';
import { renderTable } from '../format.js';

/** `tsbatch jobs <module>`: the jobs a module registers or exports. Touches no store. */
export async function jobsCommand(modulePath: string, options: OutputOptions): Promise<number> {
  const out = new Output(options);
  const module = await loadJobModule(modulePath);
  const runtime = await openScratchRuntime();
  try {
    const names = await registerJobs(runtime, module);
    const jobs = names.map((name) => {
      const job = runtime.registry.get(name);
      return { name, restartable: job.restartable, incrementer: job.incrementer !== undefined };
    });
    out.document({ module: module.path, jobs });
    out.data(
      renderTable(
        ['job', 'restartable', 'incrementer (--next)'],
        jobs.map((j) => [j.name, j.restartable ? 'yes' : 'no', j.incrementer ? 'yes' : 'no']),
        ['left', 'left', 'left'],
        out.colour,
      ),
    );
    return 0;
  } finally {
    await runtime.close();
  }
}
