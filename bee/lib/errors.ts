// Errors meant for people: printed as one line, exit non-zero, no stack trace.

/** An error whose message is the whole story for the operator. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}
