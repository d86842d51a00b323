// What the console reads from the API (docs/serve.md): the web layer imports nothing of the
// host's code, so the shapes it uses are written here.

export interface ProcessInfo {
  id: number;
  name: string;
  args: string[];
  state: 'starting' | 'running' | 'exited' | 'checkpointed';
  exitCode: number | null;
  reason: string | null;
  cpuMs: number;
  memoryBytes: number;
  stdoutBytes: number;
  stderrBytes: number;
  capturable: boolean;
  capture: 'snapshot' | 'log' | null;
  limits: { memory: number };
  worker?: number;
  host?: string;
}

/** The program's file name and its arguments (argv[0] is the module's path). */
export const commandLine = (p: ProcessInfo): string => [p.name.split('/').pop() ?? p.name, ...p.args.slice(1)].join(' ');

export interface HostStats {
  cpu: number;
  cores: number;
  rssBytes: number;
  heapBytes: number;
  freeMemoryBytes: number;
  totalMemoryBytes: number;
  load: number;
  processes: number;
  live: number;
  guestMemoryBytes: number;
}

export interface StatsEvent {
  at: number;
  host: HostStats;
  processes: { id: number; cpuMs: number; memoryBytes: number; stdoutBytes: number; stderrBytes: number }[];
}

export interface ClusterHost {
  name: string;
  labels?: Record<string, string>;
  processes?: number;
}

export interface HostsEvent {
  name: string;
  hosts: ClusterHost[];
}

export const isLive = (p: ProcessInfo): boolean => p.state === 'running' || p.state === 'starting';
