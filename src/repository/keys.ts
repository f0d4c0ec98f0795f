/**
 * The key layout of the embedded stores. Ids are zero-padded so that byte order is numeric order,
 * which makes "newest first" a reverse range scan.
 */
const pad = (id: number): string => id.toString().padStart(12, '0');

export const Keys = {
  sequence: (name: string) => `seq/${name}`,
  jobName: (jobName: string) => `jn/${jobName}`,
  jobNamesPrefix: 'jn/',
  instance: (id: number) => `ji/${pad(id)}`,
  instanceByKey: (jobName: string, instanceKey: string) => `jik/${jobName}/${instanceKey}`,
  instancesOfJobPrefix: (jobName: string) => `jin/${jobName}\u001f`,
  instanceOfJob: (jobName: string, id: number) => `jin/${jobName}\u001f${pad(id)}`,
  execution: (id: number) => `je/${pad(id)}`,
  executionsOfInstancePrefix: (instanceId: number) => `jei/${pad(instanceId)}/`,
  executionOfInstance: (instanceId: number, id: number) => `jei/${pad(instanceId)}/${pad(id)}`,
  jobContext: (executionId: number) => `jc/${pad(executionId)}`,
  stepExecution: (id: number) => `se/${pad(id)}`,
  stepsOfExecutionPrefix: (jobExecutionId: number) => `sej/${pad(jobExecutionId)}/`,
  stepOfExecution: (jobExecutionId: number, id: number) => `sej/${pad(jobExecutionId)}/${pad(id)}`,
  stepsOfInstancePrefix: (instanceId: number, stepName: string) => `sei/${pad(instanceId)}/${stepName}\u001f`,
  stepOfInstance: (instanceId: number, stepName: string, id: number) => `sei/${pad(instanceId)}/${stepName}\u001f${pad(id)}`,
  stepContext: (stepExecutionId: number) => `sc/${pad(stepExecutionId)}`,
  heartbeat: (token: string) => `hb/${token}`,
  stagedPrefix: (store: string) => `u/${store}\u001f`,
  staged: (store: string, key: string) => `u/${store}\u001f${key}`,
} as const;
