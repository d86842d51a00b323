// The token that guards `drawbridge receive` (migrate.ts checks it, src/server/token.ts makes
// and compares it): where the receiver gets it and where a sender finds it. A token file is a
// secret: it is created 0600 (never through a planted file or link), and one that others may
// read, or that another user owns, is refused rather than trusted.

import { closeSync, constants, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { newToken } from '../server/token.ts';
import { MigrationError } from './migrate-wire.ts';

/** Where a token is given without a file, for receive and migrate alike. */
export const TOKEN_ENV = 'DRAWBRIDGE_MIGRATE_TOKEN';
/** Shorter tokens are refused: they could be guessed. */
const MIN_TOKEN_LENGTH = 16;

function checked(token: string, where: string): string {
  if (token.length < MIN_TOKEN_LENGTH) throw new MigrationError(`${where}: the token is shorter than ${MIN_TOKEN_LENGTH} characters`);
  return token;
}

/** The token in `path` (its first line), refusing a file that is not ours alone. */
export function readTokenFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    throw new MigrationError(`cannot read the token file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile()) throw new MigrationError(`${path} is not a file`);
    if (uid !== undefined && st.uid !== uid) throw new MigrationError(`the token file ${path} belongs to uid ${st.uid}, not to this user (uid ${uid})`);
    if (st.mode & 0o077) {
      throw new MigrationError(`the token file ${path} may be read by others (mode 0${(st.mode & 0o777).toString(8)}): chmod 600 ${path}`);
    }
    return checked(readFileSync(fd, 'utf8').split('\n')[0]!.trim(), path);
  } finally {
    closeSync(fd);
  }
}

/**
 * receive's token, and what became of it: read from `file` when it exists, else made and
 * written there (0600); without a file, $DRAWBRIDGE_MIGRATE_TOKEN, else made, to be printed.
 */
export function receiverToken(file: string | undefined): { token: string; made: 'file' | 'print' | null } {
  if (file !== undefined) {
    let fd: number;
    try {
      // O_EXCL: an existing file (or a link planted there) is read, never written through.
      fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return { token: readTokenFile(file), made: null };
      throw new MigrationError(`cannot write the token file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const token = newToken();
    try {
      writeSync(fd, token + '\n');
    } finally {
      closeSync(fd);
    }
    return { token, made: 'file' };
  }
  const env = process.env[TOKEN_ENV];
  if (env) return { token: checked(env, TOKEN_ENV), made: null };
  return { token: newToken(), made: 'print' };
}

/** migrate's token: from `file`, else $DRAWBRIDGE_MIGRATE_TOKEN; null when neither is given. */
export function senderToken(file: string | undefined): string | null {
  if (file !== undefined) return readTokenFile(file);
  const env = process.env[TOKEN_ENV];
  return env ? checked(env, TOKEN_ENV) : null;
}
