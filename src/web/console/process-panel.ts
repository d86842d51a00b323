// The console of one picoprocess: its stdout and stderr live in a terminal (@xterm/xterm; stderr
// in red), a line for its stdin, its frame buffer on a canvas once it shows one (fb-canvas.ts:
// mouse and keys go back to it), its CPU and memory sparklines, and what can be done to it:
// kill, checkpoint (the snapshot is downloaded; it stops unless "keep running" is ticked), move
// (to another worker thread, or in a cluster to another host), remove once it has ended.
//
// Guest output is untrusted: it goes only into the terminal, which draws text (escape
// sequences move the cursor and set colours, nothing more); names and states go in as text.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { el } from '../dom.ts';
import { attachFrameBuffer, type FrameBufferView } from '../fb-canvas.ts';
import { api, apiBytes, followOutput } from './api.ts';
import { bytes, ms, percent } from './format.ts';
import { CPU_FLOOR, drawSparkline } from './sparkline.ts';
import type { Stats } from './stats.ts';
import { commandLine, isLive, type ClusterHost, type ProcessInfo } from './types.ts';

export interface PanelActions {
  /** Say something in the console's notice line. */
  notice(message: string, error?: boolean): void;
  /** The picoprocess is gone from the table (removed). */
  removed(id: number): void;
}

const RED = '\x1b[31m';
const DEFAULT_FG = '\x1b[39m';
const CYAN = '\x1b[36m';

export class ProcessPanel {
  readonly element: HTMLElement;
  private readonly title = el('h2');
  private readonly state = el('span', { class: 'state' });
  private readonly figures = el('span', { class: 'muted' });
  private readonly cpuChart = el('canvas', { class: 'spark wide', 'aria-label': 'CPU' });
  private readonly memoryChart = el('canvas', { class: 'spark wide', 'aria-label': 'memory' });
  private readonly screen = el('div', { class: 'terminal', id: 'terminal' });
  private readonly frameBox = el('div', { class: 'frame hidden', id: 'frame' });
  private readonly frameStatus = el('span', { class: 'muted' });
  private frameView: FrameBufferView | null = null;
  private readonly stdin = el('input', { id: 'stdin-line', placeholder: 'a line for its stdin (Enter sends it)', spellcheck: 'false', autocomplete: 'off' });
  private readonly buttons = {
    kill: el('button', { type: 'button', id: 'kill' }, 'Kill'),
    checkpoint: el('button', { type: 'button', id: 'checkpoint' }, 'Checkpoint'),
    keep: el('input', { type: 'checkbox', id: 'keep-running' }),
    moveTo: el('select', { id: 'move-to' }),
    move: el('button', { type: 'button', id: 'move' }, 'Move'),
    remove: el('button', { type: 'button', id: 'remove' }, 'Remove'),
    eof: el('button', { type: 'button', id: 'stdin-eof', title: 'close its stdin: it reads end of input' }, 'EOF'),
  };
  private readonly actions: PanelActions;
  private process: ProcessInfo | null = null;
  private terminal: Terminal | null = null;
  private fit: FitAddon | null = null;
  private following: AbortController | null = null;
  private readonly resize = new ResizeObserver(() => this.fit?.fit());
  private hosts: ClusterHost[] = [];
  private self = '';

  constructor(actions: PanelActions) {
    this.actions = actions;
    const b = this.buttons;
    const stdinForm = el('form', { class: 'stdin' }, this.stdin, el('button', { type: 'submit' }, 'Send'), b.eof);
    this.element = el(
      'section',
      { class: 'panel hidden', id: 'panel' },
      el('header', {}, this.title, this.state, this.figures),
      el('div', { class: 'actions' }, b.kill, b.checkpoint, el('label', { class: 'check' }, b.keep, 'keep running'), b.moveTo, b.move, b.remove),
      el('div', { class: 'charts' }, el('span', { class: 'muted' }, 'CPU'), this.cpuChart, el('span', { class: 'muted' }, 'memory'), this.memoryChart),
      el('div', { class: 'frame-row' }, this.frameBox, this.screen),
      stdinForm,
    );
    stdinForm.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send(this.stdin.value + '\n', false);
    });
    b.eof.addEventListener('click', () => this.send('', true));
    b.kill.addEventListener('click', () => this.act('kill', () => api('POST', `/v1/processes/${this.id}/kill`)));
    b.checkpoint.addEventListener('click', () => this.act('checkpoint', () => this.checkpoint()));
    b.move.addEventListener('click', () => this.act('move', () => this.move()));
    b.remove.addEventListener('click', () =>
      this.act('remove', async () => {
        const id = this.id;
        await api('DELETE', `/v1/processes/${id}`);
        this.actions.removed(id);
      }),
    );
    this.resize.observe(this.screen);
  }

  get id(): number {
    return this.process?.id ?? 0;
  }

  /** Show picoprocess `p` (a new one: a new terminal following its output), or nothing. */
  show(p: ProcessInfo | null): void {
    if (p && this.process?.id === p.id) return this.update(p);
    this.following?.abort();
    this.terminal?.dispose();
    this.terminal = null;
    this.frameView?.close();
    this.frameView = null;
    this.frameBox.classList.add('hidden');
    this.process = p;
    this.element.classList.toggle('hidden', p === null);
    if (!p) return;
    this.title.textContent = `${p.id} · ${commandLine(p)}`;
    this.title.title = [p.name, ...p.args.slice(1)].join(' ');
    const terminal = new Terminal({
      convertEol: true,
      disableStdin: true,
      scrollback: 5000,
      fontSize: 13,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
      theme: { background: '#0f172a', foreground: '#e2e8f0' },
    });
    this.fit = new FitAddon();
    terminal.loadAddon(this.fit);
    terminal.open(this.screen);
    this.fit.fit();
    this.terminal = terminal;
    const following = new AbortController();
    this.following = following;
    const write = (prefix: string, suffix: string) => (b: Uint8Array) => {
      if (following.signal.aborted) return;
      if (prefix) terminal.write(prefix);
      terminal.write(b);
      if (suffix) terminal.write(suffix);
    };
    for (const [which, prefix, suffix] of [
      ['stdout', '', ''],
      ['stderr', RED, DEFAULT_FG],
    ] as const) {
      followOutput(p.id, which, write(prefix, suffix), following.signal).catch((e: unknown) => {
        if (!following.signal.aborted) this.actions.notice(`${which} of ${p.id}: ${e instanceof Error ? e.message : String(e)}`, true);
      });
    }
    if (isLive(p)) this.showFrames(p.id);
    this.update(p);
  }

  /** Its frame buffer, on a canvas shown once the first frame comes (most programs never export one). */
  private showFrames(id: number): void {
    const canvas = el('canvas', { id: 'frame-canvas', width: '1', height: '1', 'aria-label': 'its frame buffer' });
    this.frameBox.replaceChildren(canvas, el('p', { class: 'muted' }, 'Click the frame to type to the program · ', this.frameStatus));
    this.frameView = attachFrameBuffer(canvas, {
      streamUrl: `/v1/processes/${id}/fb`,
      inputUrl: `/v1/processes/${id}/fb/input`,
      // The session cookie, not the token, opens these routes: the header goes empty.
      token: '',
      onFrameSize: (width, height) => {
        // Small frames at twice their size, in whole pixels.
        const scale = width <= 480 && height <= 360 ? 2 : 1;
        canvas.style.width = `${width * scale}px`;
        canvas.style.height = `${height * scale}px`;
        this.frameBox.classList.remove('hidden');
        this.fit?.fit();
      },
      onStatus: (text) => (this.frameStatus.textContent = text),
    });
  }

  /** Its record changed (state, place). */
  update(p: ProcessInfo): void {
    if (this.process?.id !== p.id) return;
    this.process = p;
    const live = isLive(p);
    this.state.textContent = live ? p.state : (p.reason ?? p.state);
    this.state.className = `state ${p.state}`;
    const b = this.buttons;
    b.kill.disabled = !live;
    b.checkpoint.disabled = !live || !p.capturable;
    b.checkpoint.title = p.capturable ? 'download its snapshot' : 'its module is not prepared and it does not run in log mode';
    b.move.disabled = !live || !p.capturable;
    b.moveTo.disabled = b.move.disabled;
    b.remove.disabled = live;
    this.stdin.disabled = !live;
    b.eof.disabled = !live;
    this.fillMoveTargets();
  }

  /** The cluster's hosts (empty outside one) and this host's name. */
  setHosts(hosts: ClusterHost[], self: string): void {
    this.hosts = hosts;
    this.self = self;
    this.fillMoveTargets();
  }

  showFigures(stats: Stats): void {
    const p = this.process;
    const f = p && stats.processes.get(p.id);
    if (!p || !f || !isLive(p)) return;
    this.figures.textContent = `CPU ${percent(f.cpu.last ?? 0)} · ${ms(f.cpuMs)} in all · memory ${bytes(f.memory.last ?? 0)} of ${bytes(p.limits.memory)}`;
    drawSparkline(this.cpuChart, f.cpu, '#3b82f6', CPU_FLOOR);
    drawSparkline(this.memoryChart, f.memory, '#10b981');
  }

  private fillMoveTargets(): void {
    const others = this.hosts.filter((h) => h.name !== this.self);
    const chosen = this.buttons.moveTo.value;
    this.buttons.moveTo.replaceChildren(el('option', { value: '' }, 'another worker'), ...others.map((h) => el('option', { value: h.name }, `host ${h.name}`)));
    this.buttons.moveTo.value = others.some((h) => h.name === chosen) ? chosen : '';
  }

  private send(text: string, close: boolean): void {
    const id = this.id;
    if (!close) this.terminal?.write(`${CYAN}${text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')}${DEFAULT_FG}`);
    const bytesOut = new TextEncoder().encode(text);
    api('POST', `/v1/processes/${id}/stdin${close ? '?close=1' : ''}`, bytesOut).then(
      () => {
        if (!close) this.stdin.value = '';
      },
      (e: unknown) => this.actions.notice(`stdin of ${id}: ${e instanceof Error ? e.message : String(e)}`, true),
    );
  }

  private async checkpoint(): Promise<void> {
    const id = this.id;
    const keep = this.buttons.keep.checked;
    const blob = await apiBytes('POST', `/v1/processes/${id}/checkpoint${keep ? '?leave_running=1' : ''}`);
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: `picoprocess-${id}.snap` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    this.actions.notice(`picoprocess ${id}: checkpoint downloaded (${bytes(blob.size)})${keep ? '' : '; it has stopped'}`);
  }

  private async move(): Promise<void> {
    const id = this.id;
    const host = this.buttons.moveTo.value;
    const a = await api<{ process: ProcessInfo }>('POST', `/v1/processes/${id}/move${host ? `?host=${encodeURIComponent(host)}` : ''}`);
    this.actions.notice(`picoprocess ${id} moved to ${a.process.host ? `host ${a.process.host}` : `worker ${a.process.worker}`}`);
  }

  private act(what: string, f: () => Promise<unknown>): void {
    const id = this.id;
    f().catch((e: unknown) => this.actions.notice(`${what} ${id}: ${e instanceof Error ? e.message : String(e)}`, true));
  }
}
