// Checks on the paths and URIs that reach the file streams. They come from the guest through
// the ABI: anything that is not a clean absolute path is refused here with a clear code, so a
// FileSystem only ever sees well-formed absolute paths.

import type { DkResult } from '../../../abi/dk.ts';
import { DkError, type DkErrorCode } from '../../../abi/errors.ts';

/** Linux PATH_MAX counts the terminating NUL: a path may have 4095 bytes. */
export const MAX_PATH_BYTES = 4095;
/** Linux NAME_MAX: bytes in one path component. */
export const MAX_NAME_BYTES = 255;

const encoder = new TextEncoder();

/** UTF-8 length of a string (host/common does no Node I/O, so no Buffer). */
export function utf8Length(text: string): number {
  // Fast path: ASCII strings are the rule.
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  return ascii ? text.length : encoder.encode(text).length;
}

/**
 * 0 for a usable absolute path; INVALID_ARGUMENT for anything else (not a string, relative,
 * a NUL byte, a lone surrogate that UTF-8 could not carry unchanged); NAME_TOO_LONG past
 * PATH_MAX. Components are not checked here: the file system says NAME_TOO_LONG for them,
 * as Linux does.
 */
export function checkPath(path: unknown): DkErrorCode | 0 {
  if (typeof path !== 'string' || path.length === 0 || path.charCodeAt(0) !== 0x2f /* / */) {
    return DkError.INVALID_ARGUMENT;
  }
  if (path.includes('\0') || !path.isWellFormed()) return DkError.INVALID_ARGUMENT;
  if (utf8Length(path) > MAX_PATH_BYTES) return DkError.NAME_TOO_LONG;
  return 0;
}

/** 'file:/a/b' or 'dir:/a/b' → its checked path and whether it named a directory. */
export function parseFileUri(uri: unknown): DkResult<{ path: string; dir: boolean }> {
  if (typeof uri !== 'string') return DkError.INVALID_ARGUMENT;
  let dir: boolean;
  let path: string;
  if (uri.startsWith('file:')) {
    dir = false;
    path = uri.slice(5);
  } else if (uri.startsWith('dir:')) {
    dir = true;
    path = uri.slice(4);
  } else {
    return DkError.INVALID_ARGUMENT;
  }
  const bad = checkPath(path);
  return bad !== 0 ? bad : { path, dir };
}
