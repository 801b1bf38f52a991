// Errors meant for people: printed as one line, exit non-zero, no stack trace.

/** An error whose message is the whole story for the operator. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** Not an error: a command finished and wants this exit status (its output already said why). */
export class ExitStatus extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}
