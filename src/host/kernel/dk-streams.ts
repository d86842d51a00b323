// The stream primitives (DkStream*, but the maps: dk-stream-map.ts): opening a URI by its
// scheme, reading and writing, and what a handle or URI says and lets change. Each kind of
// stream is its own object (files/, pipes.ts, net/, stdio.ts, devices.ts); here is the
// dispatch by scheme and the checks every stream shares. The rules of every primitive are in
// process.ts.

import { DkError } from '../../abi/errors.ts';
import {
  Access,
  Create,
  OpenOption,
  StatusFlag,
  StreamSide,
  type AttributesUpdate,
  type DirEntry,
  type DkResult,
  type Handle,
  type StreamAttributes,
} from '../../abi/dk.ts';
import { drop, type StreamObject } from './kobject.ts';
import type { ProcessState } from './process-state.ts';
import { AlwaysReady } from './readiness.ts';
import { NullStream, ResetStream, charDeviceAttributes } from './stdio.ts';
import { InputDevice } from './devices.ts';
import { createFileLink, openFileStream, queryFileAttributes } from './files/files.ts';
import { openNetworkStream } from './net/driver.ts';
import { NETWORK_SCHEMES } from '../../abi/uri.ts';
import { isFlags, isInt, isOffset } from './arg-checks.ts';

const ACCESS_BITS = Access.READ | Access.WRITE | Access.APPEND;
const CREATE_BITS = Create.CREATE | Create.EXCLUSIVE | Create.TRUNCATE;
const OPTION_BITS = OpenOption.NO_FOLLOW | OpenOption.DIRECTORY | OpenOption.PATH_ONLY | OpenOption.ACCEPT;
const STATUS_BITS = StatusFlag.APPEND | StatusFlag.NONBLOCK;

// ---- open ----

export function dkStreamOpen(p: ProcessState, uri: string, access: number, create: number, options: number): DkResult<Handle> {
  if (p.gone()) return DkError.EXITED;
  if (typeof uri !== 'string') return DkError.INVALID_ARGUMENT;
  if (!isFlags(access, ACCESS_BITS) || !isFlags(create, CREATE_BITS) || !isFlags(options, OPTION_BITS)) return DkError.INVALID_ARGUMENT;
  if (p.full()) return DkError.QUOTA_EXCEEDED;
  if (uri.startsWith('inherit:')) return openInherited(p, uri.slice('inherit:'.length));
  const obj = openObject(p, uri, access, create, options);
  if (typeof obj === 'number') return obj;
  return p.insert(obj);
}

/**
 * inherit:N: a handle on the stream the parent passed as entry N (N >= 3) of DkProcessCreate's
 * stdio, once; the hold this process kept on it moves into the handle, so that closing the
 * handle really lets go of it (a pipe's reader sees end of file once every writer closed).
 */
function openInherited(p: ProcessState, rest: string): DkResult<Handle> {
  if (!/^[1-9][0-9]{0,8}$/.test(rest)) return DkError.INVALID_ARGUMENT;
  const i = Number(rest);
  const obj = p.inherited?.get(i);
  if (obj === undefined) return DkError.NOT_FOUND;
  const h = p.handles.insert(obj);
  if (h < 0) return h;
  p.inherited!.delete(i);
  drop(obj);
  return h;
}

function openObject(p: ProcessState, uri: string, access: number, create: number, options: number): DkResult<StreamObject> {
  const colon = uri.indexOf(':');
  if (colon <= 0) return DkError.INVALID_ARGUMENT;
  const scheme = uri.slice(0, colon);
  const rest = uri.slice(colon + 1);
  switch (scheme) {
    case 'file':
    case 'dir':
      return openFileStream(p.platform.fs, rest, scheme === 'dir', access, create, options);
    case 'null':
      return rest === '' ? new NullStream() : DkError.INVALID_ARGUMENT;
    case 'reset':
      return rest === '' ? new ResetStream() : DkError.INVALID_ARGUMENT;
    case 'stdin':
      return rest === '' ? p.stdio[0]! : DkError.INVALID_ARGUMENT;
    case 'stdout':
      return rest === '' ? p.stdio[1]! : DkError.INVALID_ARGUMENT;
    case 'stderr':
      return rest === '' ? p.stdio[2]! : DkError.INVALID_ARGUMENT;
    case 'pipe':
      if (rest === '') return p.kernel.pipes.anonymous();
      if (rest.startsWith('peer/')) return p.kernel.pipes.claim(rest);
      return DkError.INVALID_ARGUMENT;
    case 'pipe.server': {
      if ((options & OpenOption.ACCEPT) !== 0) {
        const server = p.kernel.pipes.server(rest);
        if (server === undefined) return DkError.NOT_FOUND;
        return server.accept();
      }
      if ((create & Create.CREATE) !== 0) return p.kernel.pipes.listen(rest);
      return DkError.INVALID_ARGUMENT; // neither listen (CREATE) nor accept (ACCEPT)
    }
    case 'pipe.client':
      return p.kernel.pipes.connect(rest);
    case 'dev':
      if (rest === 'fb') return p.frameBuffer ?? DkError.NOT_FOUND;
      if (rest === 'input') return new InputDevice(p.input);
      return DkError.NOT_FOUND;
    default:
      if (NETWORK_SCHEMES.has(scheme)) return openNetworkStream(p.kernel.network, p.id, scheme, rest, create, options);
      return DkError.INVALID_ARGUMENT;
  }
}

// ---- read and write ----
// Hot paths: no allocation, closures or exceptions; the exit check is gone()'s, written out.

export function dkStreamRead(p: ProcessState, stream: Handle, offset: number, buffer: Uint8Array): DkResult<number> {
  if (p.exitCode !== null || (p.exitedThreads !== 0 && p.currentThread().exited)) return DkError.EXITED;
  const obj = p.handles.get(stream);
  if (obj === undefined) return DkError.BAD_HANDLE;
  const s = obj as StreamObject;
  if (s.read === undefined) return DkError.WRONG_HANDLE_TYPE;
  if (!isOffset(offset) || !(buffer instanceof Uint8Array)) return DkError.INVALID_ARGUMENT;
  return s.read(offset, buffer);
}
export function dkStreamWrite(p: ProcessState, stream: Handle, offset: number, data: Uint8Array): DkResult<number> {
  if (p.exitCode !== null || (p.exitedThreads !== 0 && p.currentThread().exited)) return DkError.EXITED;
  const obj = p.handles.get(stream);
  if (obj === undefined) return DkError.BAD_HANDLE;
  const s = obj as StreamObject;
  if (s.write === undefined) return DkError.WRONG_HANDLE_TYPE;
  if (!isOffset(offset) || !(data instanceof Uint8Array)) return DkError.INVALID_ARGUMENT;
  return s.write(offset, data);
}

// ---- by handle ----

export function dkStreamSetLength(p: ProcessState, stream: Handle, length: number): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  const s = p.stream(stream);
  if (typeof s === 'number') return s;
  if (s.setLength === undefined) return DkError.WRONG_HANDLE_TYPE;
  if (!isInt(length) || length < 0) return DkError.INVALID_ARGUMENT;
  return s.setLength(length);
}
export function dkStreamFlush(p: ProcessState, stream: Handle): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  const s = p.stream(stream);
  if (typeof s === 'number') return s;
  return s.flush === undefined ? DkError.WRONG_HANDLE_TYPE : s.flush();
}
export function dkStreamDelete(p: ProcessState, stream: Handle, side: number): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  const s = p.stream(stream);
  if (typeof s === 'number') return s;
  if (s.delete === undefined) return DkError.WRONG_HANDLE_TYPE;
  if (side !== StreamSide.BOTH && side !== StreamSide.READ && side !== StreamSide.WRITE) return DkError.INVALID_ARGUMENT;
  return s.delete(side);
}
/** Streams without readiness tracking (files) are always ready: their event is always set. */
export function dkStreamGetEvent(p: ProcessState, stream: Handle, side: number): DkResult<Handle> {
  if (p.gone()) return DkError.EXITED;
  const s = p.stream(stream);
  if (typeof s === 'number') return s;
  if (side !== StreamSide.BOTH && side !== StreamSide.READ && side !== StreamSide.WRITE) return DkError.INVALID_ARGUMENT;
  if (p.full()) return DkError.QUOTA_EXCEEDED;
  const ev = s.readiness === undefined ? new AlwaysReady() : s.readiness(side);
  if (typeof ev === 'number') return ev;
  return p.insert(ev);
}
export function dkStreamRename(p: ProcessState, stream: Handle, newUri: string): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  const s = p.stream(stream);
  if (typeof s === 'number') return s;
  if (s.rename === undefined) return DkError.WRONG_HANDLE_TYPE;
  if (typeof newUri !== 'string') return DkError.INVALID_ARGUMENT;
  return s.rename(newUri);
}
export function dkStreamEnumerateChildren(p: ProcessState, stream: Handle): DkResult<DirEntry[]> {
  if (p.gone()) return DkError.EXITED;
  const s = p.stream(stream);
  if (typeof s === 'number') return s;
  return s.enumerate === undefined ? DkError.WRONG_HANDLE_TYPE : s.enumerate();
}

// ---- attributes and links ----

export function dkStreamAttributesQuery(p: ProcessState, uri: string, options: number): DkResult<StreamAttributes> {
  if (p.gone()) return DkError.EXITED;
  if (typeof uri !== 'string') return DkError.INVALID_ARGUMENT;
  const colon = uri.indexOf(':');
  if (colon <= 0) return DkError.INVALID_ARGUMENT;
  const scheme = uri.slice(0, colon);
  const rest = uri.slice(colon + 1);
  switch (scheme) {
    case 'file':
    case 'dir':
      return queryFileAttributes(p.platform.fs, rest, options);
    case 'null':
    case 'stdin':
    case 'stdout':
    case 'stderr':
    case 'dev': {
      if (scheme === 'dev' && rest === 'input') return charDeviceAttributes(true, false);
      const obj = scheme === 'dev' ? (rest === 'fb' ? p.frameBuffer : null) : openObject(p, uri, 0, 0, 0);
      if (obj === null) return DkError.NOT_FOUND;
      if (typeof obj === 'number') return obj;
      return obj.attributes?.() ?? DkError.NOT_SUPPORTED;
    }
    case 'pipe.server': {
      const server = p.kernel.pipes.server(rest);
      return server === undefined ? DkError.NOT_FOUND : server.attributes();
    }
    case 'pipe':
    case 'pipe.client':
      return DkError.NOT_SUPPORTED; // only by handle: opening would claim or connect
    default:
      // Network endpoints: only by handle (opening would connect, listen or look up).
      return NETWORK_SCHEMES.has(scheme) ? DkError.NOT_SUPPORTED : DkError.INVALID_ARGUMENT;
  }
}
export function dkStreamAttributesQueryByHandle(p: ProcessState, stream: Handle): DkResult<StreamAttributes> {
  if (p.gone()) return DkError.EXITED;
  const s = p.stream(stream);
  if (typeof s === 'number') return s;
  if (s.attributes === undefined) return DkError.WRONG_HANDLE_TYPE;
  const a = s.attributes();
  if (typeof a === 'number') return a;
  if (s.kind === 'pipe') a.shared = p.heldOutside(s);
  if (s.statusFlags !== 0) a.statusFlags = s.statusFlags;
  return a;
}
export function dkStreamAttributesSetByHandle(p: ProcessState, stream: Handle, update: AttributesUpdate): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  const s = p.stream(stream);
  if (typeof s === 'number') return s;
  if (typeof update !== 'object' || update === null) return DkError.INVALID_ARGUMENT;
  // The status flags are every stream's (the object keeps them); the rest is the stream's own.
  const { statusFlags, ...rest } = update;
  if (statusFlags !== undefined && !isFlags(statusFlags, STATUS_BITS)) return DkError.INVALID_ARGUMENT;
  if (statusFlags === undefined || Object.keys(rest).length > 0) {
    if (s.setAttributes === undefined) return DkError.WRONG_HANDLE_TYPE;
    const r = s.setAttributes(rest);
    if (r !== 0) return r;
  }
  if (statusFlags !== undefined) s.statusFlags = statusFlags;
  return 0;
}
export function dkStreamLinkCreate(p: ProcessState, linkUri: string, target: string, symbolic: boolean): DkResult<0> {
  if (p.gone()) return DkError.EXITED;
  if (typeof linkUri !== 'string') return DkError.INVALID_ARGUMENT;
  // Links live in the file system only; the target is free text (symbolic) or a file: URI (hard).
  if (linkUri.startsWith('file:')) return createFileLink(p.platform.fs, linkUri.slice(5), target, symbolic);
  const colon = linkUri.indexOf(':');
  if (colon <= 0) return DkError.INVALID_ARGUMENT;
  return DkError.NOT_SUPPORTED;
}
