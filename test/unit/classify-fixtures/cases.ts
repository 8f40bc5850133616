// Shared shape of the classifier's table-driven cases: [sql, kind name, flag names separated
// by spaces ('' for none)]. Kind and flag names are those of host/classify/flags.ts.
export type Case = readonly [sql: string, kind: string, flags: string];
