// What a snapshot asks for, and what a restore grants (docs/snapshot.md, "Who grants what").
//
// A snapshot records the mounts, network grants and extensions its picoprocess ran with. That
// is a request, never a grant: anyone who can write the file can write it. `restore`, `receive`
// and serve's restore and move run a snapshot under the restorer's own manifest and flags
// only; this file compares the two and names, in one line, each grant the request needs that
// the restorer did not give. Host folders are never read from a snapshot; a listening socket
// listens again only where the restorer granted listening; extensions are the restorer's
// (their saved state goes to a restorer's extension of the same name, never code loaded
// because a snapshot names it).

import { endpointMatches, parseEndpoint, parseEndpointPattern, type EndpointPattern } from '../monitor/network/pattern.ts';
import type { Manifest } from '../monitor/manifest/manifest.ts';
import type { SavedExtension, SnapshotMeta } from './snapshot.ts';

/** The addresses (ADDR:PORT) of the sockets that were listening when the snapshot was taken. */
export function listeningAddresses(meta: SnapshotMeta): string[] {
  return (meta.libos?.fds ?? []).flatMap((f) => {
    const uri = f.socket?.listen;
    return typeof uri === 'string' ? [uri.slice(uri.indexOf(':') + 1)] : [];
  });
}

/**
 * The grants `meta` asks for that `manifest` does not give, one phrase each (empty: all
 * given), and the manifest to run it under: the restorer's, plus each listening socket's
 * concrete address where the restorer granted its host at port 0 (any port the system picks).
 */
export function compareRequest(meta: SnapshotMeta, manifest: Manifest): { missing: string[]; manifest: Manifest } {
  const missing: string[] = [];
  for (const m of meta.mounts ?? []) {
    const given = manifest.mounts.find((g) => g.guest === m.guest);
    if (!given) missing.push(`mount ${m.guest} (${m.mode}), not granted: give --dir HOST::${m.guest} or a manifest`);
    else if (m.mode === 'rw' && given.mode !== 'rw')
      missing.push(`mount ${m.guest} (rw), granted read-only: give --dir HOST::${m.guest} or a manifest mount with mode = "rw"`);
  }
  const connect = new Set(manifest.network.connect.map((p) => p.text));
  for (const text of meta.network?.connect ?? []) {
    if (!connect.has(text)) missing.push(`connect to ${text}, not granted: give --connect ${text} or a manifest`);
  }
  const listen: EndpointPattern[] = [...manifest.network.listen];
  for (const address of listeningAddresses(meta)) {
    const ep = parseEndpoint(address);
    if (!ep) {
      missing.push(`listen on ${address}, which is not an address`);
      continue;
    }
    if (manifest.network.listen.some((p) => endpointMatches(p, ep))) continue;
    const anyPort = manifest.network.listen.some(
      (p) => p.portMin === 0 && p.portMax === 0 && endpointMatches({ ...p, portMin: ep.port, portMax: ep.port }, ep),
    );
    const pattern = parseEndpointPattern(address);
    if (anyPort && typeof pattern !== 'string') listen.push(pattern);
    else missing.push(`listen on ${address}, not granted: give --listen ${address} or a manifest`);
  }
  return { missing, manifest: { ...manifest, network: { connect: manifest.network.connect, listen } } };
}

/** The one-line refusal for missing grants, or null. */
export function missingGrantsMessage(missing: readonly string[]): string | null {
  return missing.length ? `the snapshot asks for ${missing.join('; ')}` : null;
}

/**
 * The saved state to give the restorer's extension stack (`names`, top first): each one the
 * snapshot's state of the extension of the same name (the first not yet taken), or null.
 */
export function stateForStack(names: readonly string[], saved: readonly SavedExtension[] | undefined): SavedExtension[] {
  const left = [...(saved ?? [])];
  return names.map((name) => {
    const i = left.findIndex((s) => s?.name === name);
    if (i < 0) return { name, options: {}, state: null };
    const [s] = left.splice(i, 1);
    return { name, options: {}, state: s!.state ?? null };
  });
}
