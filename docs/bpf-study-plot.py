#!/usr/bin/env python3
"""Draws docs/bpf-study.svg from the sweep's JSON lines (see docs/BPF-STUDY.md).

usage: bpf-study-plot.py SWEEP.out > docs/bpf-study.svg
Each input line is "<container_op_cycles> <bpf> <ghostsim -json output>".
Standard library only.
"""
import json, math, sys

rows = []
for line in open(sys.argv[1]):
    c, b, js = line.split(' ', 2)
    r = json.loads(js)
    w = r['sim_time_ns']
    rows.append((int(c), b == 'true', r['ghost']['sched_gap_ns'] / w,
                 r['latency_ns']['A']['p99'] / 1e3, r['latency_ns']['B']['p99'] / 1e3,
                 r['latency_ns']['C']['p99'] / 1e3, r['throughput']['requests_per_s'],
                 r['ghost']['agent_loop_ns']['p50'] / 1e3))
rows.sort()
panels = [("scheduling gap (idle CPUs with work waiting)", 2, False),
          ("A p99 (µs)", 3, True), ("B p99 (µs)", 4, True), ("C p99 (µs)", 5, True),
          ("throughput (queries/s)", 6, False)]
W, H, PW, PH, M = 1000, 520, 300, 200, 50
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
       '<rect width="100%" height="100%" fill="white"/>',
       f'<text x="{W/2}" y="18" text-anchor="middle" font-size="14">Search on rome256: the BPF fast path as the agent loop grows (x: policy.container_op_cycles, log)</text>']
xs = sorted({r[0] for r in rows})
lx0, lx1 = math.log10(xs[0]), math.log10(xs[-1])
for i, (title, col, logy) in enumerate(panels):
    ox, oy = M + (i % 3) * (PW + M), 40 + (i // 3) * (PH + M + 20)
    vals = [r[col] for r in rows]
    lo, hi = (min(vals), max(vals))
    if logy:
        lo, hi = math.log10(lo), math.log10(hi)
    lo, hi = lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)
    fx = lambda x: ox + (math.log10(x) - lx0) / (lx1 - lx0) * PW
    fy = lambda y: oy + PH - ((math.log10(y) if logy else y) - lo) / (hi - lo) * PH
    out.append(f'<rect x="{ox}" y="{oy}" width="{PW}" height="{PH}" fill="none" stroke="#888"/>')
    out.append(f'<text x="{ox + PW/2}" y="{oy - 5}" text-anchor="middle">{title}</text>')
    for x in xs:
        out.append(f'<text x="{fx(x):.1f}" y="{oy + PH + 13}" text-anchor="middle" font-size="9">{x}</text>')
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        lab = 10 ** v if logy else v
        out.append(f'<text x="{ox - 3}" y="{fy(10**v if logy else v) + 3:.1f}" text-anchor="end" font-size="9">{lab:.3g}</text>')
    for bpf, color in ((False, "#1f77b4"), (True, "#d62728")):
        pts = [(fx(r[0]), fy(r[col])) for r in rows if r[1] == bpf]
        out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (color, " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)))
        for x, y in pts:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
lx, ly = M + 2 * (PW + M), 40 + PH + M + 40
out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx+30}" y2="{ly}" stroke="#1f77b4" stroke-width="2"/><text x="{lx+35}" y="{ly+4}">bpf = false (agent only)</text>')
out.append(f'<line x1="{lx}" y1="{ly+20}" x2="{lx+30}" y2="{ly+20}" stroke="#d62728" stroke-width="2"/><text x="{lx+35}" y="{ly+24}">bpf = true (per-CCX rings + PNT program)</text>')
for j, r in enumerate(x for x in rows if not x[1]):
    out.append(f'<text x="{lx}" y="{ly + 50 + 13*j}" font-size="10">op cycles {r[0]}: agent loop p50 {r[7]:.1f} µs</text>')
out.append('</svg>')
print("\n".join(out))
