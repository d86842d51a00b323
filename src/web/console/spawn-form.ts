// The spawn form: a module path on the daemon's machine (as POST /v1/processes takes it), its
// arguments (split at spaces), its manifest (TOML; empty: nothing granted, the daemon's limits),
// and in a cluster the host to run it on.
import { el } from '../dom.ts';
import { api } from './api.ts';
import type { ClusterHost, ProcessInfo } from './types.ts';

export interface SpawnForm {
  element: HTMLElement;
  /** The cluster's hosts changed (none outside a cluster). */
  setHosts(hosts: ClusterHost[]): void;
}

export function spawnForm(spawned: (p: ProcessInfo, warning?: string) => void, failed: (message: string) => void): SpawnForm {
  const module = el('input', { id: 'spawn-module', name: 'module', required: '', placeholder: '/absolute/path/program.wasm', spellcheck: 'false' });
  const args = el('input', { id: 'spawn-args', name: 'args', placeholder: 'arguments, separated by spaces', spellcheck: 'false' });
  const manifest = el('textarea', { id: 'spawn-manifest', name: 'manifest', rows: '4', placeholder: '[limits]\nmemory = "64MiB"', spellcheck: 'false' });
  const host = el('select', { id: 'spawn-host', name: 'host' }, el('option', { value: '' }, 'least loaded host'));
  const hostRow = el('label', { class: 'hidden' }, 'Host', host);
  const form = el(
    'form',
    { class: 'spawn', id: 'spawn-form' },
    el('h2', {}, 'Spawn'),
    el('label', {}, 'Module', module),
    el('label', {}, 'Arguments', args),
    el('label', {}, 'Manifest (TOML)', manifest),
    hostRow,
    el('button', { type: 'submit' }, 'Spawn'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body: Record<string, unknown> = { module: module.value.trim(), args: args.value.split(/\s+/).filter(Boolean) };
    if (manifest.value.trim() !== '') body.manifest = manifest.value;
    if (host.value !== '') body.host = host.value;
    api<{ process: ProcessInfo; warning?: string }>('POST', '/v1/processes', body).then(
      (a) => spawned(a.process, a.warning),
      (err: unknown) => failed(err instanceof Error ? err.message : String(err)),
    );
  });
  return {
    element: form,
    setHosts(hosts) {
      hostRow.classList.toggle('hidden', hosts.length === 0);
      const chosen = host.value;
      host.replaceChildren(el('option', { value: '' }, 'least loaded host'), ...hosts.map((h) => el('option', { value: h.name }, h.name)));
      host.value = hosts.some((h) => h.name === chosen) ? chosen : '';
    },
  };
}
