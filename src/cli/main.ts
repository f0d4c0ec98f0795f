/**
 * The entry point of the `tsbatch` command (bin/tsbatch.js imports it). See program.ts for the
 * commands and README.md ("The tsbatch command") for the module contract and the exit codes.
 */
import { runCli } from './program.js';

const code = await runCli(process.argv);
process.exitCode = code;
// Exit once stdout has drained, even if a job module left timers or handles open.
process.stdout.write('', () => process.exit(code));
