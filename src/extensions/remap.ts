// remap: file-system remapping rules, guest path prefix -> another path or URI.
//
//   --ext remap:/etc=/tenants/a/etc            /etc/x is served from /tenants/a/etc/x
//   --ext remap:/dev/log=stderr:               a whole URI replaces an exact path
//   manifest: [[extensions]] name = "remap"  options = { "/etc" = "/tenants/a/etc" }
//
// Every option is a rule: its key is an absolute guest path, matched on whole components
// (/etc matches /etc and /etc/passwd, never /etcetera); the longest matching prefix wins.
// A value that starts with "/" replaces the prefix and keeps the caller's scheme (file: stays
// file:, dir: stays dir:); a value with a scheme (null:, stderr:, file:/x) replaces the whole
// URI, and only for the exact path.
//
// Where it sits: above the monitor, with the other extensions (docs/architecture.md). It rewrites guest
// URIs before the monitor sees them, so the monitor still checks the result against the
// manifest: a rule can route paths to another place the picoprocess was granted (its own
// mount), never to one it was not. (Below the monitor, rules would name host paths and could
// reach outside the mounts; that would make remap a grant, which is the manifest's job.)
//
// Which arguments are URIs is derived from the ABI table: every string argument whose name
// ends in "uri"/"Uri" (DkStreamOpen, DkStreamRename, DkStreamAttributesQuery, DkProcessCreate,
// DkStreamLinkCreate's link), plus a hard link's target (DkStreamLinkCreate with symbolic
// false names an existing object). A symbolic link's target is text the guest stores and gets
// back unchanged; paths the monitor resolves through symbolic links are not remapped.

import type { Dk } from '../abi/dk.ts';
import { PRIMITIVES, type ArgSpec } from '../abi/spec.ts';
import { PASS, ExtensionError, wrapDk, type Call, type ExtensionInstance, type ExtensionOptions } from './api.ts';
import { schemeOf, schemeSpec } from '../abi/uri.ts';

export interface RemapRule {
  /** Normalised absolute guest path. */
  from: string;
  /** A path (keeps the scheme) or a whole URI. */
  to: string;
}

function normalise(path: string): string {
  return (
    '/' +
    path
      .split('/')
      .filter((p) => p !== '' && p !== '.')
      .join('/')
  );
}

export function parseRules(options: ExtensionOptions): RemapRule[] {
  const rules: RemapRule[] = [];
  for (const [from, to] of Object.entries(options)) {
    if (!from.startsWith('/')) throw new ExtensionError(`remap: a rule maps an absolute guest path, got "${from}" (write /PATH=TARGET)`);
    if (from.split('/').includes('..')) throw new ExtensionError(`remap: "${from}" must not contain ".."`);
    if (typeof to !== 'string' || to === '') throw new ExtensionError(`remap: rule "${from}" needs a target path or URI`);
    if (!to.startsWith('/') && !/^[a-z][a-z0-9.+-]*:/i.test(to)) {
      throw new ExtensionError(`remap: target of "${from}" must be an absolute path or a URI, got "${to}"`);
    }
    if (to.startsWith('/') && to.split('/').includes('..')) throw new ExtensionError(`remap: target "${to}" must not contain ".."`);
    rules.push({ from: normalise(from), to: to.startsWith('/') ? normalise(to) : to });
  }
  if (rules.length === 0) throw new ExtensionError('remap: give at least one rule, e.g. remap:/etc=/tenant/etc');
  // Longest prefix first.
  return rules.sort((a, b) => b.from.length - a.from.length);
}

/** The URI a rule set turns `uri` into (the same string when no rule applies). */
export function remapUri(rules: readonly RemapRule[], uri: string): string {
  const scheme = schemeOf(uri);
  if (scheme === null || schemeSpec(scheme)?.kind !== 'path') return uri;
  const path = uri.slice(scheme.length + 1);
  if (!path.startsWith('/')) return uri;
  for (const r of rules) {
    const hit = r.from === '/' ? true : path === r.from || path.startsWith(r.from + '/');
    if (!hit) continue;
    if (!r.to.startsWith('/')) {
      if (normalise(path) !== r.from) continue; // a whole URI stands for one path only
      return r.to;
    }
    const rest = r.from === '/' ? path : path.slice(r.from.length);
    const joined = r.to === '/' ? (rest.startsWith('/') ? rest : '/' + rest) : r.to + rest;
    return `${scheme}:${joined || '/'}`;
  }
  return uri;
}

export function createRemap(lower: Dk, options: ExtensionOptions): ExtensionInstance {
  const rules = parseRules(options);
  const isUri = (a: ArgSpec) => a.type === 'string' && /uri$/i.test(a.name);
  const uriArgs = new Map<string, number[]>(PRIMITIVES.map((p) => [p.method, p.args.flatMap((a, i) => (isUri(a) ? [i] : []))]));
  const dk = wrapDk(lower, {
    only: (spec) => spec.args.some(isUri),
    before(call: Call) {
      for (const i of uriArgs.get(call.spec.method)!) {
        const v = call.args[i];
        if (typeof v === 'string') call.args[i] = remapUri(rules, v);
      }
      // A hard link's target names an existing object: a URI or an absolute guest path.
      if (call.spec.method === 'streamLinkCreate' && call.args[2] === false && typeof call.args[1] === 'string') {
        const t = call.args[1];
        call.args[1] = t.startsWith('/') ? remapUri(rules, 'file:' + t).replace(/^file:/, '') : remapUri(rules, t);
      }
      return PASS;
    },
  });
  return { dk };
}
