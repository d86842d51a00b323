// A sparkline: the last values of one figure as a small filled line on a canvas (no axes,
// no library: a few dozen points per chart, redrawn once a second).

/** The last `size` values of a figure. */
export class Series {
  readonly values: number[] = [];
  private readonly size: number;
  constructor(size = 60) {
    this.size = size;
  }
  push(v: number): void {
    this.values.push(v);
    if (this.values.length > this.size) this.values.shift();
  }
  get last(): number | undefined {
    return this.values[this.values.length - 1];
  }
}

/** CPU use below this share of a core is drawn as next to nothing (a sparkline does not magnify noise). */
export const CPU_FLOOR = 0.01;

/**
 * Draw `series` on `canvas` (scaled to its CSS size) from 0 to a little above the series' own
 * highest value, or to `floor` when that is higher: the shape of the last minute shows,
 * whatever the scale.
 */
export function drawSparkline(canvas: HTMLCanvasElement, series: Series, color: string, floor = 0): void {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const h = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const g = canvas.getContext('2d');
  if (!g) return;
  g.clearRect(0, 0, w, h);
  const v = series.values;
  if (v.length < 2) return;
  const top = Math.max(floor, Math.max(...v) * 1.25, 1e-9);
  const step = w / (v.length - 1);
  const y = (x: number): number => h - 1 - (Math.min(x, top) / top) * (h - 2);
  g.beginPath();
  g.moveTo(0, y(v[0]!));
  for (let i = 1; i < v.length; i++) g.lineTo(i * step, y(v[i]!));
  g.lineWidth = Math.max(1, ratio);
  g.strokeStyle = color;
  g.stroke();
  g.lineTo(w, h);
  g.lineTo(0, h);
  g.closePath();
  g.globalAlpha = 0.18;
  g.fillStyle = color;
  g.fill();
  g.globalAlpha = 1;
}
