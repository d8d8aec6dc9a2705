package console

import (
	"fmt"
	"html/template"
	"strings"
)

// series is one stacked layer of a bar chart.
type series struct {
	Name   string
	Class  string // CSS class giving its colour
	Values []int
}

// chart is a stacked bar chart, one bar per label.
type chart struct {
	Title  string
	Labels []string
	Series []series
}

// esc escapes text for SVG (XML) content and attributes.
func esc(s string) string { return template.HTMLEscapeString(s) }

// SVG draws the chart as inline SVG. Every text is escaped; sizes are
// attributes (the console's CSP allows no inline styles).
func (ch chart) SVG() template.HTML {
	const w, h, left, bottom, top = 720, 240, 44, 34, 14
	n := len(ch.Labels)
	if n == 0 {
		return ""
	}
	totals := make([]int, n)
	maxv := 0
	for _, s := range ch.Series {
		for i, v := range s.Values {
			if i < n {
				totals[i] += v
				maxv = max(maxv, totals[i])
			}
		}
	}
	scale := niceMax(maxv)
	plotH := float64(h - bottom - top)
	slot := float64(w-left-8) / float64(n)
	bw := slot * 0.7
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, w, h+26, w, h+26, esc(ch.Title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(ch.Title))
	for i := 0; i <= 4; i++ {
		y := float64(top) + plotH - plotH*float64(i)/4
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, left, y, w-4, y)
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%d</text>`, left-4, y+4, scale*i/4)
	}
	for i := range n {
		x := float64(left) + slot*float64(i) + (slot-bw)/2
		y := float64(top) + plotH
		for _, s := range ch.Series {
			if i >= len(s.Values) || s.Values[i] == 0 || scale == 0 {
				continue
			}
			bh := plotH * float64(s.Values[i]) / float64(scale)
			y -= bh
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %d</title></rect>`,
				esc(s.Class), x, y, bw, bh, esc(ch.Labels[i]), esc(s.Name), s.Values[i])
		}
		if n <= 12 || i%3 == 0 {
			fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+bw/2, h-bottom+16, esc(ch.Labels[i]))
		}
	}
	// Legend.
	lx := float64(left)
	for _, s := range ch.Series {
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%d" width="10" height="10"/><text class="legend" x="%.1f" y="%d">%s</text>`,
			esc(s.Class), lx, h+6, lx+14, h+15, esc(s.Name))
		lx += 24 + float64(len([]rune(s.Name)))*9
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built above with every text escaped
}

// niceMax is the top of a chart's scale for a largest value v: four grid
// steps of 1, 2, 2.5 or 5 times a power of ten, so the labels are round.
func niceMax(v int) int {
	if v <= 4 {
		return 4
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{10, 20, 25, 50} {
			if step := m * p / 10; step > 0 && m*p%10 == 0 && 4*step >= v {
				return 4 * step
			}
		}
	}
}

// funnelStep is one stage of a funnel.
type funnelStep struct {
	Name  string
	Value int
}

// funnelSVG draws horizontal bars, each stage's width relative to the first.
func funnelSVG(title string, steps []funnelStep) template.HTML {
	const w, rowH, labelW = 640, 30, 150
	h := rowH*len(steps) + 8
	first := 0
	for _, s := range steps {
		first = max(first, s.Value)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart funnel" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		w, h, w, h, esc(title), esc(title))
	for i, s := range steps {
		y := 4 + i*rowH
		bw := 0.0
		if first > 0 {
			bw = float64(w-labelW-90) * float64(s.Value) / float64(first)
		}
		fmt.Fprintf(&b, `<text class="legend" x="0" y="%d">%s</text>`, y+18, esc(s.Name))
		fmt.Fprintf(&b, `<rect class="f-%d" x="%d" y="%d" width="%.1f" height="%d"/>`, i%6, labelW, y+2, bw, rowH-8)
		fmt.Fprintf(&b, `<text class="legend" x="%.1f" y="%d">%d</text>`, float64(labelW)+bw+6, y+18, s.Value)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built above with every text escaped
}
