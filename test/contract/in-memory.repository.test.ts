import { createInMemoryJobRepository } from '../../src/testing.js';
import { describeJobRepositoryContract } from './job-repository.contract.js';

// The in-memory store forgets everything with the process, so it offers no reopen.
describeJobRepositoryContract('in-memory', async () => {
  const repository = createInMemoryJobRepository();
  return { repository, cleanup: () => repository.close() };
});
