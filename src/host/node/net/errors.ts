// Node's network error codes (err.code: libuv's names) to DkError codes.

import { DkError, type DkErrorCode } from '../../../abi/errors.ts';

const CODES: Record<string, DkErrorCode> = {
  ECONNREFUSED: DkError.CONNECTION_REFUSED,
  ECONNRESET: DkError.CONNECTION_RESET,
  ECONNABORTED: DkError.CONNECTION_RESET,
  EPIPE: DkError.BROKEN_PIPE,
  ENOTCONN: DkError.NOT_CONNECTED,
  EADDRINUSE: DkError.ADDRESS_IN_USE,
  EADDRNOTAVAIL: DkError.ADDRESS_NOT_AVAILABLE,
  EAFNOSUPPORT: DkError.ADDRESS_NOT_AVAILABLE,
  ETIMEDOUT: DkError.TIMED_OUT,
  EACCES: DkError.ACCESS_DENIED,
  EPERM: DkError.ACCESS_DENIED,
  EINVAL: DkError.INVALID_ARGUMENT,
  EMFILE: DkError.QUOTA_EXCEEDED,
  ENFILE: DkError.QUOTA_EXCEEDED,
  ENOBUFS: DkError.NO_MEMORY,
  ENOMEM: DkError.NO_MEMORY,
  // Unreachable networks and hosts: nobody answers, which the guest sees as a refusal.
  ENETUNREACH: DkError.CONNECTION_REFUSED,
  EHOSTUNREACH: DkError.CONNECTION_REFUSED,
  // Resolver answers.
  ENOTFOUND: DkError.NOT_FOUND,
  ENODATA: DkError.NOT_FOUND,
  EAI_AGAIN: DkError.TIMED_OUT,
  ESERVFAIL: DkError.IO_ERROR,
};

export function dkErrorOfNode(e: unknown): DkErrorCode {
  const code = (e as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && CODES[code]) || DkError.IO_ERROR;
}
