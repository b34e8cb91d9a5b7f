import type { Measure } from "./harness.js"
import type { Results } from "./report.js"

/*
 * The ratios as a horizontal bar chart on a log scale, each bar drawn from parity (1) to its ratio,
 * with the target (when it is on the ratio) as a tick. Plain SVG text: no plotting dependency.
 */

const LABEL_WIDTH = 360
const PLOT_WIDTH = 480
const ROW = 24
const TOP = 56
const MIN_RATIO = 1 / 16
const MAX_RATIO = 16

const COLOURS = { met: "#2e7d32", missed: "#c62828", none: "#78909c" } as const

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const x = (ratio: number) => {
  const clamped = Math.min(MAX_RATIO, Math.max(MIN_RATIO, ratio))
  const span = Math.log2(MAX_RATIO) - Math.log2(MIN_RATIO)
  return LABEL_WIDTH + ((Math.log2(clamped) - Math.log2(MIN_RATIO)) / span) * PLOT_WIDTH
}

const colour = (m: Measure) =>
  m.target?.on !== "ratio" || m.met === undefined ? COLOURS.none : m.met ? COLOURS.met : COLOURS.missed

export const ratioChart = (results: Results): string => {
  const rows = results.benchmarks.flatMap((b) =>
    (b.outcome?.measures ?? []).filter((m) => m.ratio !== undefined).map((m) => ({ bench: b.name, m }))
  )
  const height = TOP + rows.length * ROW + 40
  const width = LABEL_WIDTH + PLOT_WIDTH + 90
  const out: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">clawkerd ÷ baseline, same run (log scale)</text>`,
    `<text x="10" y="38" fill="#555">load average ${results.machine.load.start.toFixed(2)} → ${
      results.machine.load.end.toFixed(2)
    }; green: target met, red: missed, grey: no ratio target; tick: the target</text>`
  ]
  for (const tick of [1 / 16, 1 / 4, 1 / 2, 1, 2, 4, 16]) {
    const tx = x(tick).toFixed(1)
    out.push(
      `<line x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${TOP + rows.length * ROW}" stroke="${
        tick === 1 ? "#000" : "#ddd"
      }"/>`,
      `<text x="${tx}" y="${TOP + rows.length * ROW + 16}" text-anchor="middle" fill="#555">${
        tick < 1 ? `1/${1 / tick}` : tick
      }</text>`
    )
  }
  rows.forEach(({ bench, m }, i) => {
    const y = TOP + i * ROW
    const ratio = m.ratio ?? 1
    const [from, to] = [x(1), x(ratio)].sort((a, b) => a - b) as [number, number]
    out.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + 15}" text-anchor="end">${escape(`${bench}: ${m.metric}`)}</text>`,
      `<rect x="${from.toFixed(1)}" y="${y + 4}" width="${Math.max(1, to - from).toFixed(1)}" height="${
        ROW - 8
      }" fill="${colour(m)}"/>`,
      `<text x="${(Math.max(to, x(1)) + 6).toFixed(1)}" y="${y + 15}">${ratio.toFixed(2)}</text>`
    )
    if (m.target?.on === "ratio") {
      const tx = x(m.target.limit).toFixed(1)
      out.push(`<line x1="${tx}" y1="${y + 1}" x2="${tx}" y2="${y + ROW - 1}" stroke="#000" stroke-width="2"/>`)
    }
  })
  out.push("</svg>", "")
  return out.join("\n")
}
