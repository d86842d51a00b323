// What the monitor refused, and by which rule: one record per refusal, for whoever starts the
// picoprocess to print (`drawbridge run --log denials`) or to act on (a quota that refused
// output). Derived from the call's spec, its arguments and the policy, after the fact: the
// checks themselves stay as they are.

import { Access, Create } from '../abi/dk.ts';
import { DkError, type DkErrorCode } from '../abi/errors.ts';
import type { PrimitiveSpec } from '../abi/spec.ts';
import { mountOf } from './mounts.ts';
import type { Denial } from './policy.ts';
import type { SecurityMonitor } from './state.ts';
import { classifyUri } from './uri.ts';

/** The errors a refusal of the monitor answers with. */
export function isRefusal(r: unknown): r is DkErrorCode {
  return r === DkError.NOT_CAPABLE || r === DkError.QUOTA_EXCEEDED || r === DkError.READ_ONLY;
}

/** Why `spec(args)` was answered `error` (a refusal: isRefusal). */
export function explainDenial(m: SecurityMonitor, spec: PrimitiveSpec, args: readonly unknown[], error: DkErrorCode): Denial {
  const uriAt = spec.args.findIndex((a) => a.type === 'string' && /uri$/i.test(a.name));
  const uri = uriAt >= 0 && typeof args[uriAt] === 'string' ? (args[uriAt] as string) : null;
  const handle = typeof args[0] === 'number' && spec.args[0]?.type === 'handle' ? (args[0] as number) : null;
  const subject = uri ?? (handle !== null ? `handle ${handle}` : '');
  const d = (rule: string, quota?: Denial['quota']): Denial => (quota ? { call: spec.name, subject, rule, quota } : { call: spec.name, subject, rule });
  const limits = m.policy.limits;
  if (error === DkError.QUOTA_EXCEEDED) {
    if (spec.method === 'streamWrite') return d(`limits.bytes_written (${limits.bytesWritten} bytes, ${m.bytesWritten} written)`, 'bytes_written');
    if (spec.method === 'processCreate') return d(`limits.children (${limits.children})`, 'children');
    if (spec.method === 'virtualMemoryAlloc' || spec.method === 'streamMap') return d(`limits.memory (${limits.memory} bytes)`, 'memory');
    return d(`limits.handles (${limits.handles})`, 'handles');
  }
  const u = uri !== null ? classifyUri(uri) : null;
  if (error === DkError.READ_ONLY) {
    const mount = u !== null && typeof u !== 'number' && u.kind === 'path' ? m.resolver.mountFor(u.path) : handle !== null ? mountOf(m, handle) : null;
    return d(mount ? `mount ${mount.guest} is read-only` : 'read-only');
  }
  if (u !== null) {
    if (typeof u !== 'number' && u.kind === 'network') return d(`no [network] ${u.direction} grant matches`);
    if (typeof u !== 'number' && u.kind === 'path') {
      const mount = m.resolver.mountFor(u.path);
      if (!mount) return d(`no mount grants ${u.path}`);
      const writes =
        spec.method === 'streamOpen' && (((args[1] as number) & Access.WRITE) !== 0 || ((args[2] as number) & (Create.CREATE | Create.TRUNCATE)) !== 0);
      if (writes && mount.readOnly) return d(`mount ${mount.guest} is read-only`);
      if (m.trusted !== null) return d(`trusted_files: ${u.path} is read-only and checked`);
      return d(`outside mount ${mount.guest} (a link or .. leads out of it)`);
    }
    if (typeof u !== 'number' && u.kind === 'local') return d(`${u.scheme}: is not this picoprocess's to open`);
  }
  return d('not granted');
}

/** A refusal of this call, told to the policy's onDenied; answered as it was. */
export function refused(m: SecurityMonitor, spec: PrimitiveSpec, args: readonly unknown[], error: DkErrorCode): DkErrorCode {
  m.policy.onDenied?.(explainDenial(m, spec, args, error));
  return error;
}
