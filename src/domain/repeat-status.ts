/** What a tasklet returns: run again (`CONTINUABLE`, one commit per iteration) or stop (`FINISHED`). */
export const RepeatStatus = {
  CONTINUABLE: 'CONTINUABLE',
  FINISHED: 'FINISHED',
} as const;

export type RepeatStatus = (typeof RepeatStatus)[keyof typeof RepeatStatus];
