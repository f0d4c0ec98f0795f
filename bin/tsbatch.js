#!/usr/bin/env node
// The tsbatch command is not built yet (see the flows/operator/CLI issue); say so plainly.
process.stderr.write('tsbatch: the command line is not available in this version; use the library API (see README).\n');
process.exit(2);
