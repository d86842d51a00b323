// The process table: one row per picoprocess the event stream lists, kept by id (a row is
// built once and updated in place), its CPU and memory as figures and sparklines. A click
// selects it (its console opens beside).
import { el } from '../dom.ts';
import { bytes, percent } from './format.ts';
import { CPU_FLOOR, drawSparkline } from './sparkline.ts';
import type { Stats } from './stats.ts';
import { commandLine, isLive, type ProcessInfo } from './types.ts';

interface Row {
  tr: HTMLTableRowElement;
  name: HTMLElement;
  state: HTMLElement;
  cpu: HTMLElement;
  memory: HTMLElement;
  cpuChart: HTMLCanvasElement;
  memoryChart: HTMLCanvasElement;
  where: HTMLElement;
}

export class ProcessTable {
  readonly element: HTMLElement;
  private readonly body = el('tbody');
  private readonly caption = el('p', { class: 'muted' });
  private readonly rows = new Map<number, Row>();
  private selected: number | null = null;
  private readonly select: (id: number) => void;

  constructor(select: (id: number) => void) {
    this.select = select;
    const head = el(
      'thead',
      {},
      el(
        'tr',
        {},
        ...['ID', 'Program', 'State', 'CPU', 'Memory', 'CPU (1 min)', 'Memory (1 min)', 'Where'].map((h, i) =>
          el('th', i === 5 || i === 6 ? { class: 'chart' } : {}, h),
        ),
      ),
    );
    this.element = el('section', { class: 'processes' }, el('h2', {}, 'Picoprocesses'), this.caption, el('table', { id: 'process-table' }, head, this.body));
  }

  setProcesses(list: ProcessInfo[], total: number): void {
    const keep = new Set(list.map((p) => p.id));
    for (const [id, row] of this.rows) {
      if (!keep.has(id)) {
        row.tr.remove();
        this.rows.delete(id);
      }
    }
    for (const p of list) {
      const row = this.rows.get(p.id) ?? this.newRow(p.id);
      row.name.textContent = commandLine(p);
      row.name.title = [p.name, ...p.args.slice(1)].join(' ');
      row.state.textContent = isLive(p) ? p.state : (p.reason ?? p.state);
      row.state.className = `state ${p.state}`;
      row.where.textContent = p.host ?? (p.worker === undefined ? '' : `worker ${p.worker}`);
      if (!isLive(p)) {
        row.cpu.textContent = '';
        row.memory.textContent = '';
      }
      this.body.append(row.tr); // in the list's order
    }
    this.caption.textContent = total > list.length ? `${list.length} of ${total} shown (live ones first, newest first)` : `${total} in all`;
    this.setSelected(this.selected);
  }

  setSelected(id: number | null): void {
    this.selected = id;
    for (const [rid, row] of this.rows) row.tr.classList.toggle('selected', rid === id);
  }

  showFigures(stats: Stats): void {
    for (const [id, row] of this.rows) {
      const f = stats.processes.get(id);
      if (!f || !row.state.classList.contains('running')) continue;
      row.cpu.textContent = percent(f.cpu.last ?? 0);
      row.memory.textContent = bytes(f.memory.last ?? 0);
      drawSparkline(row.cpuChart, f.cpu, '#3b82f6', CPU_FLOOR);
      drawSparkline(row.memoryChart, f.memory, '#10b981');
    }
  }

  private newRow(id: number): Row {
    const cell = (cls = ''): HTMLTableCellElement => el('td', cls ? { class: cls } : {});
    const row: Row = {
      tr: el('tr', { 'data-id': String(id) }),
      name: cell('name'),
      state: el('span', { class: 'state' }),
      cpu: cell('num'),
      memory: cell('num'),
      cpuChart: el('canvas', { class: 'spark', 'aria-label': 'CPU' }),
      memoryChart: el('canvas', { class: 'spark', 'aria-label': 'memory' }),
      where: cell('muted'),
    };
    row.tr.append(
      el('td', { class: 'num' }, String(id)),
      row.name,
      el('td', {}, row.state),
      row.cpu,
      row.memory,
      el('td', { class: 'chart' }, row.cpuChart),
      el('td', { class: 'chart' }, row.memoryChart),
      row.where,
    );
    row.tr.addEventListener('click', () => this.select(id));
    this.rows.set(id, row);
    return row;
  }
}
