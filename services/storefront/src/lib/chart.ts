// A bar chart of orders/s drawn on a canvas, sized for the device's pixel ratio.
import type { RatePoint } from './orders-series.js';

export function drawRateChart(canvas: HTMLCanvasElement, points: readonly RatePoint[]): void {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const top = Math.max(10, niceCeiling(Math.max(0, ...points.map((p) => p.perSecond))));
  const left = 44;
  const bottom = height - 20;
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#5b6472';
  ctx.strokeStyle = '#e3e7ee';
  ctx.lineWidth = 1;
  for (const share of [0, 0.5, 1]) {
    const y = bottom - share * (bottom - 8);
    ctx.beginPath();
    ctx.moveTo(left, y + 0.5);
    ctx.lineTo(width, y + 0.5);
    ctx.stroke();
    ctx.fillText(String(Math.round(top * share)), 4, y + 4);
  }
  ctx.fillText('60 s ago', left, height - 4);
  ctx.fillText('now', width - 26, height - 4);
  if (points.length === 0) return;
  const step = (width - left) / points.length;
  ctx.fillStyle = '#e4572e';
  points.forEach((point, i) => {
    const h = (point.perSecond / top) * (bottom - 8);
    ctx.fillRect(left + i * step + 1, bottom - h, Math.max(1, step - 2), h);
  });
}

function niceCeiling(value: number): number {
  if (value <= 0) return 0;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((n) => n >= value) ?? 10 * magnitude;
}
