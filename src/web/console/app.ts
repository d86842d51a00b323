// The console once logged in: the host's figures and sparklines, the spawn form and restore
// upload, the cluster's hosts, the process table and the console of the selected picoprocess,
// all fed by the event stream (GET /v1/events).
import { el } from '../dom.ts';
import { api, ApiError } from './api.ts';
import { bytes, percent } from './format.ts';
import { ProcessPanel } from './process-panel.ts';
import { ProcessTable } from './process-table.ts';
import { spawnForm } from './spawn-form.ts';
import { CPU_FLOOR, drawSparkline } from './sparkline.ts';
import { Stats } from './stats.ts';
import type { HostsEvent, ProcessInfo, StatsEvent } from './types.ts';

/** How long to wait before opening the event stream again after it failed. */
const RECONNECT_MS = 2000;

export function showConsole(root: HTMLElement, loggedOut: (note: string) => void): void {
  const notice = el('p', { class: 'notice', id: 'notice', role: 'status' });
  const say = (message: string, error = false): void => {
    notice.textContent = message;
    notice.classList.toggle('error', error);
  };
  const stats = new Stats();
  const processes = new Map<number, ProcessInfo>();
  let selected: number | null = null;

  const table = new ProcessTable((id) => select(id));
  const panel = new ProcessPanel({
    notice: say,
    removed: (id) => {
      if (selected === id) select(null);
    },
  });
  const select = (id: number | null, given?: ProcessInfo): void => {
    selected = id;
    table.setSelected(id);
    panel.show(id === null ? null : (processes.get(id) ?? given ?? null));
  };
  const form = spawnForm(
    (p, warning) => {
      say(`spawned picoprocess ${p.id}${warning ? ` (${warning})` : ''}`, false);
      select(p.id, p);
    },
    (message) => say(`spawn: ${message}`, true),
  );

  const restoreFile = el('input', { type: 'file', id: 'restore-file', class: 'hidden' });
  const restoreButton = el('button', { type: 'button', id: 'restore' }, 'Restore a snapshot…');
  restoreButton.addEventListener('click', () => restoreFile.click());
  restoreFile.addEventListener('change', () => {
    const file = restoreFile.files?.[0];
    restoreFile.value = '';
    if (!file) return;
    api<{ process: ProcessInfo }>('POST', '/v1/restore', file).then(
      (a) => {
        say(`restored ${file.name} as picoprocess ${a.process.id}`);
        select(a.process.id, a.process);
      },
      (e: unknown) => say(`restore ${file.name}: ${e instanceof Error ? e.message : String(e)}`, true),
    );
  });

  const hostCpu = el('canvas', { class: 'spark', 'aria-label': 'host CPU' });
  const hostMemory = el('canvas', { class: 'spark', 'aria-label': 'host memory' });
  const hostCpuText = el('span', { class: 'num' });
  const hostMemoryText = el('span', { class: 'num' });
  const hostCounts = el('span', { class: 'muted' });
  const logout = el('button', { type: 'button', id: 'logout' }, 'Log out');
  const hostsList = el('ul');
  const hostsSection = el('section', { class: 'hosts hidden', id: 'hosts' }, el('h2', {}, 'Cluster hosts'), hostsList);

  root.replaceChildren(
    el(
      'header',
      { class: 'top' },
      el('h1', {}, 'drawbridge'),
      el(
        'div',
        { class: 'host' },
        el('span', { class: 'muted' }, 'daemon CPU'),
        hostCpu,
        hostCpuText,
        el('span', { class: 'muted' }, 'memory'),
        hostMemory,
        hostMemoryText,
        hostCounts,
      ),
      restoreButton,
      restoreFile,
      logout,
    ),
    notice,
    el('main', { class: 'layout' }, el('aside', {}, form.element, hostsSection), el('div', { class: 'work' }, table.element, panel.element)),
  );

  let events: EventSource | null = null;
  let closed = false;
  const connect = (): void => {
    const source = new EventSource('/v1/events');
    events = source;
    source.addEventListener('processes', (e) => {
      const data = JSON.parse((e as MessageEvent<string>).data) as { processes: ProcessInfo[]; total: number };
      processes.clear();
      for (const p of data.processes) processes.set(p.id, p);
      table.setProcesses(data.processes, data.total);
      stats.forget(new Set(processes.keys()));
      if (selected !== null) {
        const p = processes.get(selected);
        if (p) panel.update(p);
      }
    });
    source.addEventListener('stats', (e) => {
      stats.apply(JSON.parse((e as MessageEvent<string>).data) as StatsEvent);
      const h = stats.host!;
      hostCpuText.textContent = `${percent(h.cpu)} of ${h.cores} core${h.cores === 1 ? '' : 's'}`;
      hostMemoryText.textContent = bytes(h.rssBytes);
      hostCounts.textContent = `${h.live} running · guests ${bytes(h.guestMemoryBytes)} · load ${h.load.toFixed(2)}`;
      drawSparkline(hostCpu, stats.hostCpu, '#3b82f6', CPU_FLOOR / h.cores);
      drawSparkline(hostMemory, stats.hostMemory, '#10b981');
      table.showFigures(stats);
      panel.showFigures(stats);
    });
    source.addEventListener('hosts', (e) => {
      const data = JSON.parse((e as MessageEvent<string>).data) as HostsEvent;
      hostsSection.classList.remove('hidden');
      hostsList.replaceChildren(
        ...data.hosts.map((h) =>
          el(
            'li',
            {},
            el('strong', {}, h.name),
            h.name === data.name ? el('span', { class: 'muted' }, ' (this host)') : '',
            ` · ${h.processes ?? 0} picoprocesses`,
            Object.keys(h.labels ?? {}).length
              ? el(
                  'span',
                  { class: 'muted' },
                  ` · ${Object.entries(h.labels ?? {})
                    .map(([k, v]) => `${k}=${v}`)
                    .join(', ')}`,
                )
              : '',
          ),
        ),
      );
      form.setHosts(data.hosts);
      panel.setHosts(data.hosts, data.name);
    });
    source.addEventListener('error', () => {
      if (source.readyState !== EventSource.CLOSED || closed) return;
      // Refused (the session ended?) or the daemon went away: find out which.
      api('GET', '/v1/health').then(
        () => setTimeout(() => !closed && connect(), RECONNECT_MS),
        (err: unknown) => {
          if (err instanceof ApiError && err.status === 401) {
            closed = true;
            panel.show(null);
            loggedOut('Your session has ended: log in again.');
          } else {
            say(`the daemon does not answer (${err instanceof Error ? err.message : String(err)}); trying again`, true);
            setTimeout(() => !closed && connect(), RECONNECT_MS);
          }
        },
      );
    });
  };
  connect();

  logout.addEventListener('click', () => {
    closed = true;
    events?.close();
    panel.show(null);
    api('DELETE', '/v1/session').finally(() => loggedOut(''));
  });
}
