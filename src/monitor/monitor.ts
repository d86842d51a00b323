// The security monitor: a Dk-to-Dk layer that checks every call against the manifest's grants
// and quotas before the host (PAL) sees it (docs/architecture.md; the grants: docs/manifest.md).
//
// This file is the wrapper every call goes through. Every primitive is wrapped, generically
// from PRIMITIVES in abi/spec.ts: its arguments are checked against their declared types
// (args.ts), handle-creating primitives count against the handle quota, and an exception
// escaping the host becomes IO_ERROR (and is counted, so tests notice). Only the primitives
// that carry paths, bytes or quotas have their own checks (checks.ts, with the mount rules in
// mounts.ts); what the monitor knows of its picoprocess is state.ts.
//
// Handles: the monitor never invents or renumbers handles; it passes the host's numbers
// through (the host's per-picoprocess table is what isolates picoprocesses) and keeps, per
// handle, the mount a file handle came from, so handle-based writes on a read-only mount and
// renames across mounts can be refused.

import type { Dk, DkMethod } from '../abi/dk.ts';
import { DkError } from '../abi/errors.ts';
import { PRIMITIVES } from '../abi/spec.ts';
import { checkArgs } from './args.ts';
import { CHECKED } from './checks.ts';
import { isRefusal, refused } from './denials.ts';
import type { MonitorPolicy } from './policy.ts';
import { SecurityMonitor, type MonitorUsage } from './state.ts';

export type { MonitorPolicy, MountGrant } from './policy.ts';
export { policyFromManifest } from './policy.ts';
export type { MonitorUsage } from './state.ts';
export type { Denial, DenialLog } from './policy.ts';

type AnyFn = (...args: any[]) => unknown;

/**
 * What createMonitor returns: every Dk method, on the prototype (built below).
 *
 * The methods live once on MonitoredDk.prototype, built from PRIMITIVES and the checked
 * primitives, and find the monitor through `this`: a picoprocess's start then allocates two
 * objects for its monitor, not closures and bound functions for every primitive, which every
 * start would pay for in heap and again in garbage collection (docs/serve.md, "Density").
 */
class MonitoredDk {
  readonly monitor: SecurityMonitor;
  constructor(monitor: SecurityMonitor) {
    this.monitor = monitor;
  }
}

function buildMonitoredDk(): void {
  const proto = MonitoredDk.prototype as unknown as Record<DkMethod, AnyFn>;
  const generic = {} as Record<DkMethod, AnyFn>;
  for (const spec of PRIMITIVES) {
    const method = spec.method;
    const own = CHECKED[method] as AnyFn | undefined;
    const createsHandle = spec.result === 'handle';
    generic[method] = proto[method] = function (this: MonitoredDk, ...args: unknown[]): unknown {
      const m = this.monitor;
      const bad = checkArgs(spec, args);
      if (bad !== 0) return spec.blocking ? Promise.resolve(bad) : bad;
      if (createsHandle && m.handles.size >= m.policy.limits.handles) return refused(m, spec, args, DkError.QUOTA_EXCEEDED);
      m.nextInfo = null;
      let result: unknown;
      try {
        result = own ? own.apply(m, args) : (m.lower as unknown as Record<DkMethod, AnyFn>)[method](...args);
      } catch (e) {
        return m.hostThrew(e);
      }
      if (spec.blocking) {
        const settled = (result as Promise<unknown>).catch((e: unknown) => m.hostThrew(e));
        return m.policy.onDenied ? settled.then((r) => (isRefusal(r) ? refused(m, spec, args, r) : r)) : settled;
      }
      if (isRefusal(result) && m.policy.onDenied) return refused(m, spec, args, result);
      if (createsHandle && typeof result === 'number' && result > 0) {
        m.handles.set(result, m.nextInfo ?? { mount: null, isMountRoot: false, refs: 1 });
      }
      return result;
    };
  }
  // The hot primitives (a clock read, a stream read or write per guest syscall) skip the
  // generic wrapper's argument array and table-driven checks when their arguments are plainly
  // well-formed: the inline guards below accept a subset of what checkArgs accepts, and
  // anything else still takes the generic path, with the same checks and error codes.
  const slowTime = generic.systemTimeQuery;
  proto.systemTimeQuery = function (this: MonitoredDk, clock: number): unknown {
    if (clock !== 0 && clock !== 1) return slowTime.call(this, clock);
    try {
      return this.monitor.lower.systemTimeQuery(clock);
    } catch (e) {
      return this.monitor.hostThrew(e);
    }
  };
  for (const method of ['streamRead', 'streamWrite'] as const) {
    const slow = generic[method];
    const spec = PRIMITIVES.find((p) => p.method === method)!;
    const impl = CHECKED[method]! as AnyFn;
    proto[method] = function (this: MonitoredDk, h: number, offset: number, buffer: Uint8Array): unknown {
      if (!(
        (h | 0) === h &&
        h > 0 &&
        (offset === -1 || (offset >= 0 && offset <= 0x7fffffffffff && offset === Math.floor(offset))) &&
        buffer instanceof Uint8Array
      )) {
        return slow.call(this, h, offset, buffer);
      }
      let r: unknown;
      try {
        r = impl.call(this.monitor, h, offset, buffer);
      } catch (e) {
        return this.monitor.hostThrew(e);
      }
      return isRefusal(r) && this.monitor.policy.onDenied ? refused(this.monitor, spec, [h, offset, buffer], r) : r;
    };
  }
}
buildMonitoredDk();

/** Wraps `lower` in a security monitor enforcing `policy`. */
export function createMonitor(lower: Dk, policy: MonitorPolicy): Dk {
  return new MonitoredDk(new SecurityMonitor(lower, policy)) as unknown as Dk;
}

/** The usage counters of a Dk made by createMonitor (undefined for any other Dk). */
export function monitorUsage(dk: Dk): MonitorUsage | undefined {
  return dk instanceof MonitoredDk ? dk.monitor.usage() : undefined;
}
