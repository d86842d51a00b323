// What the security monitor of one picoprocess knows: its policy, the handles it gave out
// (with the mount each file handle came from), the peers of the pipes it made, and the usage
// counters its quotas are checked against. The wrapper (monitor.ts), the per-call checks
// (checks.ts) and the mount rules (mounts.ts) all work on this one object.

import { QueryOption, type Dk, type Handle } from '../abi/dk.ts';
import { DkError, type DkErrorCode } from '../abi/errors.ts';
import type { MonitorPolicy, MountGrant } from './policy.ts';
import { PathResolver } from './resolve.ts';
import { NetworkGate } from './network/resolved.ts';
import { TrustedFiles } from './trusted-files.ts';

export interface MonitorUsage {
  /** Handles open now (created through the monitor, not yet closed). */
  handles: number;
  bytesWritten: number;
  children: number;
  /** Bytes committed through DkVirtualMemoryAlloc and fresh DkStreamMap regions. */
  memory: number;
  /** Exceptions the host threw (turned into IO_ERROR): a host bug when not 0. */
  internalErrors: number;
}

export interface HandleInfo {
  /** The mount a file or directory handle was opened in; null for every other object. */
  mount: MountGrant | null;
  isMountRoot: boolean;
  /** References taken with DkObjectReference, plus the one from creation. */
  refs: number;
  /** A frame buffer of DkFrameBufferExport: writes to it fill a fixed array, not limits.bytes_written. */
  frameBuffer?: true;
}

export class SecurityMonitor {
  /** The Dk below the monitor (the host's). */
  readonly lower: Dk;
  readonly policy: MonitorPolicy;
  readonly resolver: PathResolver;
  /** Network grants applied to resolved addresses (monitor/network/resolved.ts). */
  readonly net: NetworkGate;
  readonly handles = new Map<Handle, HandleInfo>();
  /** Set by a check that created a handle, read by the generic wrapper that records it. */
  nextInfo: HandleInfo | null = null;
  /** Fresh regions of DkStreamMap (addr 0), so DkStreamUnmap can release their accounting. */
  mapped: Map<number, number> | null = null;
  /** Peer URIs of the anonymous pipes this picoprocess made: the only ones it may open. */
  peers: Set<string> | null = null;
  /** The manifest's trusted_files and the open ones (null when it lists none). */
  readonly trusted: TrustedFiles | null;
  bytesWritten = 0;
  children = 0;
  memory = 0;
  internalErrors = 0;
  /** The last exception a host threw, for debugging. */
  lastInternalError: unknown = undefined;

  constructor(lower: Dk, policy: MonitorPolicy) {
    this.lower = lower;
    this.policy = policy;
    this.resolver = new PathResolver(policy.mounts, (hostPath, follow) => lower.streamAttributesQuery(`file:${hostPath}`, follow ? 0 : QueryOption.NO_FOLLOW));
    this.net = new NetworkGate(policy.network);
    this.trusted = policy.trustedFiles?.size ? new TrustedFiles(policy.trustedFiles) : null;
  }

  usage(): MonitorUsage {
    return {
      handles: this.handles.size,
      bytesWritten: this.bytesWritten,
      children: this.children,
      memory: this.memory,
      internalErrors: this.internalErrors,
    };
  }

  /** An exception escaping the host: counted, kept, and answered as IO_ERROR. */
  hostThrew(e: unknown): DkErrorCode {
    this.internalErrors++;
    this.lastInternalError = e;
    return DkError.IO_ERROR;
  }
}
