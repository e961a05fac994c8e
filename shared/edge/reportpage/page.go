// Package reportpage renders a month's report as one HTML page for the
// owner: Japanese first, readable offline (no script, no font or image from
// elsewhere), its charts drawn as inline SVG.
package reportpage

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/report"
)

// Page is what the page shows.
type Page struct {
	Shop   string
	Report *report.Report
	// Ranks are the ladder's ranks, top first (their lapsed sides follow
	// each); Label names one for people.
	Ranks []string
	Label func(rank string) string
	// The current plans' version, what it tests and since when.
	Version    int
	Hypothesis string
	Started    string
	Generated  time.Time
}

//go:embed page.html
var pageHTML string

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":  func(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" },
	"pt":   func(v float64) string { return fmt.Sprintf("%+.1f", 100*v) },
	"yen":  func(v float64) string { return fmt.Sprintf("%+.0f円", v) },
	"f":    func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"int":  func(v int64) string { return strconv.FormatInt(v, 10) },
	"kind": kindLabel,
}).Parse(pageHTML))

// Write renders the page.
func Write(w io.Writer, p Page) error {
	if p.Label == nil {
		p.Label = func(r string) string { return r }
	}
	if err := tmpl.Execute(w, viewOf(p)); err != nil {
		return fmt.Errorf("report page: %w", err)
	}
	return nil
}

func kindLabel(k message.Kind) string { return k.Label() }

// view is the page's data, the charts' geometry worked out.
type view struct {
	Page
	Month       string
	Measured    int // rows with a holdout
	Verdicts    map[string]int
	RankChart   chart
	Funnels     []funnel
	Matrix      matrix
	Trend       trend
	Versions    []forest
	Rows        []row
	Highlights  []report.Line
	GeneratedAt string
}

type row struct {
	report.Line
	RankLabel string
}

// chart is treated against held out per rank, with 95% bars.
type chart struct {
	Height float64
	Ticks  []tick
	Groups []bars
}

type tick struct {
	X     float64
	Label string
}

type bars struct {
	Label            string
	Y                float64
	Treated, Holdout bar
	Line             report.Line
}

type bar struct {
	W, Low, High float64 // in px
	Rate         float64
	N            int64
}

const (
	chartLeft  = 150.0
	chartWidth = 460.0
)

func viewOf(p Page) view {
	r := p.Report
	v := view{Page: p, Month: r.Month, Verdicts: map[string]int{}, GeneratedAt: p.Generated.In(jst).Format("2006年1月2日 15:04")}
	for _, l := range r.Rows {
		v.Rows = append(v.Rows, row{Line: l, RankLabel: p.Label(l.Rank)})
		v.Verdicts[l.Verdict]++
		if l.Lift != nil {
			v.Measured++
		}
	}
	v.Highlights = report.Highlights(r, 3)
	v.RankChart = rankChart(p)
	v.Funnels = funnels(p)
	v.Matrix = matrixOf(p)
	v.Trend = trendOf(r)
	v.Versions = versions(r)
	return v
}

var jst = time.FixedZone("JST", 9*3600)

// rankChart sums each rank's measured rows (those with a holdout).
func rankChart(p Page) chart {
	measured := slices.DeleteFunc(slices.Clone(p.Report.Rows), func(l report.Line) bool { return l.Lift == nil })
	lines := report.Rollup(measured, func(l report.Line) report.Row { return report.Row{Rank: l.Rank} })
	slices.SortStableFunc(lines, func(a, b report.Line) int { return ladder(p.Ranks, a.Rank) - ladder(p.Ranks, b.Rank) })
	top := 0.0
	for _, l := range lines {
		top = math.Max(top, math.Max(l.Treated.High, l.Holdout.High))
	}
	scale := niceTop(top)
	c := chart{}
	px := func(v float64) float64 { return chartLeft + chartWidth*v/scale }
	for i, l := range lines {
		g := bars{Label: p.Label(l.Rank), Y: float64(i)*56 + 24, Line: l}
		g.Treated = bar{W: px(l.Treated.Rate) - chartLeft, Low: px(l.Treated.Low), High: px(l.Treated.High), Rate: l.Treated.Rate, N: l.Treated.N}
		g.Holdout = bar{W: px(l.Holdout.Rate) - chartLeft, Low: px(l.Holdout.Low), High: px(l.Holdout.High), Rate: l.Holdout.Rate, N: l.Holdout.N}
		c.Groups = append(c.Groups, g)
	}
	c.Height = float64(len(lines))*56 + 40
	for i := 0; i <= 4; i++ {
		t := scale * float64(i) / 4
		c.Ticks = append(c.Ticks, tick{X: px(t), Label: percent(t)})
	}
	return c
}

// percent is an axis label: a share in whole or half percents.
func percent(v float64) string { return strconv.FormatFloat(math.Round(200*v)/2, 'f', -1, 64) + "%" }

// ladder is a rank's place on the ladder: its rung, then active before lapsed.
func ladder(ranks []string, rk string) int {
	if i := slices.Index(ranks, rk); i >= 0 {
		return i
	}
	return len(ranks)
}

// niceTop is a round upper end for an axis over [0, top].
func niceTop(top float64) float64 {
	for _, t := range []float64{0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1} {
		if top <= t {
			return t
		}
	}
	return 1
}

// funnel is one plan step's customers, from sent to bought again.
type funnel struct {
	Title  string
	Stages []stage
}

type stage struct {
	Label     string
	N         int64
	Share     float64 // of those sent
	Y, W, End float64
	Opacity   float64
}

func funnels(p Page) []funnel {
	steps := slices.DeleteFunc(slices.Clone(p.Report.Rows), func(l report.Line) bool { return l.Kind != message.Step && l.Kind != message.Newsletter })
	lines := report.Rollup(steps, func(l report.Line) report.Row {
		return report.Row{Kind: l.Kind, Plan: l.Plan, PlanVersion: l.PlanVersion, Step: l.Step}
	})
	var out []funnel
	for _, l := range lines {
		if l.Sent == 0 {
			continue
		}
		title := l.Plan + " v" + strconv.Itoa(l.PlanVersion) + " · " + l.Step
		if l.Kind == message.Newsletter {
			title = "ニュースレター " + l.Plan
		}
		f := funnel{Title: title}
		for _, s := range []struct {
			label string
			n     int64
		}{{"送信", l.Sent}, {"開封", l.Opened}, {"クリック", l.Clicked}, {"再購入", l.TreatedRepurchased}} {
			share := float64(s.n) / float64(l.Sent)
			w := math.Max(1, 280*share)
			i := float64(len(f.Stages))
			f.Stages = append(f.Stages, stage{Label: s.label, N: s.n, Share: share, Y: 8 + 27*i, W: w, End: 70 + w, Opacity: 1 - 0.2*i})
		}
		out = append(out, f)
	}
	return out
}

// matrix is the month's moves between ranks.
type matrix struct {
	Ranks []string // labels, in ladder order
	Cells [][]cell
	Total int64
}

type cell struct {
	N     int64
	Alpha float64
	Up    bool
}

func matrixOf(p Page) matrix {
	var ranks []string
	seen := map[string]bool{}
	for _, m := range p.Report.Moves {
		for _, r := range []string{m.From, m.To} {
			if !seen[r] {
				seen[r] = true
				ranks = append(ranks, r)
			}
		}
	}
	slices.SortStableFunc(ranks, func(a, b string) int { return ladder(p.Ranks, a) - ladder(p.Ranks, b) })
	m := matrix{Cells: make([][]cell, len(ranks))}
	var top int64
	for _, mv := range p.Report.Moves {
		top = max(top, mv.N)
		m.Total += mv.N
	}
	for i := range ranks {
		m.Cells[i] = make([]cell, len(ranks))
	}
	for _, mv := range p.Report.Moves {
		i, j := slices.Index(ranks, mv.From), slices.Index(ranks, mv.To)
		m.Cells[i][j] = cell{N: mv.N, Alpha: 0.15 + 0.75*float64(mv.N)/float64(top), Up: j < i}
	}
	for _, r := range ranks {
		m.Ranks = append(m.Ranks, p.Label(r))
	}
	return m
}

// trend is the month's weeks: decisions (bars) and repurchase (lines).
type trend struct {
	Weeks            []week
	TreatedPath      string
	HoldoutPath      string
	MaxN             int64
	RateTop          float64
	HasHoldout       bool
	Width, BarWidth  float64
	RateTicks, NTick []tick
}

type week struct {
	report.WeekLine
	X, BarX, Top, H float64
}

const trendHeight = 160.0

func trendOf(r *report.Report) trend {
	t := trend{Width: 620}
	if len(r.Weeks) == 0 {
		return t
	}
	top := 0.0
	for _, w := range r.Weeks {
		t.MaxN = max(t.MaxN, w.Sent+w.HeldOut)
		top = math.Max(top, math.Max(w.Treated.Rate, w.Holdout.Rate))
		t.HasHoldout = t.HasHoldout || w.HeldOut > 0
	}
	t.RateTop = niceTop(top)
	step := 520.0 / float64(len(r.Weeks))
	t.BarWidth = step * 0.6
	y := func(rate float64) float64 { return 10 + trendHeight*(1-rate/t.RateTop) }
	for i, w := range r.Weeks {
		x := 60 + step*float64(i) + step/2
		h := 0.0
		if t.MaxN > 0 {
			h = trendHeight * float64(w.Sent+w.HeldOut) / float64(t.MaxN)
		}
		t.Weeks = append(t.Weeks, week{WeekLine: w, X: x, BarX: x - t.BarWidth/2, Top: 10 + trendHeight - h, H: h})
		sep := " L"
		if i == 0 {
			sep = "M"
		}
		t.TreatedPath += fmt.Sprintf("%s%.1f %.1f", sep, x, y(w.Treated.Rate))
		t.HoldoutPath += fmt.Sprintf("%s%.1f %.1f", sep, x, y(w.Holdout.Rate))
	}
	for i := 0; i <= 4; i++ {
		v := t.RateTop * float64(i) / 4
		t.RateTicks = append(t.RateTicks, tick{X: y(v), Label: percent(v)})
	}
	return t
}

// forest is one plan's versions, lift against lift.
type forest struct {
	Plan   string
	Height float64
	Items  []forestItem
	Zero   float64
	Ticks  []tick
}

type forestItem struct {
	Line           report.Line
	Y, X, Low, Hi  float64
	Label, Verdict string
}

// versions puts each plan's versions side by side: every version measured
// against its own holdout this month.
func versions(r *report.Report) []forest {
	measured := slices.DeleteFunc(slices.Clone(r.Rows), func(l report.Line) bool { return l.Lift == nil || l.Plan == "" })
	lines := report.Rollup(measured, func(l report.Line) report.Row { return report.Row{Plan: l.Plan, PlanVersion: l.PlanVersion} })
	slices.SortStableFunc(lines, func(a, b report.Line) int {
		if a.Plan != b.Plan {
			return cmp.Compare(a.Plan, b.Plan)
		}
		return a.PlanVersion - b.PlanVersion
	})
	var out []forest
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && lines[j].Plan == lines[i].Plan {
			j++
		}
		out = append(out, forestOf(lines[i].Plan, lines[i:j]))
		i = j
	}
	return out
}

func forestOf(planName string, lines []report.Line) forest {
	span := 0.05
	for _, l := range lines {
		span = math.Max(span, math.Max(math.Abs(l.Lift.Low), math.Abs(l.Lift.High)))
	}
	span = niceTop(span)
	px := func(v float64) float64 { return 300 + 250*v/span }
	f := forest{Plan: planName, Zero: px(0), Height: float64(len(lines))*34 + 30}
	for i, l := range lines {
		f.Items = append(f.Items, forestItem{Line: l, Y: float64(i)*34 + 22, X: px(l.Lift.Abs), Low: px(l.Lift.Low), Hi: px(l.Lift.High),
			Label: "v" + strconv.Itoa(l.PlanVersion), Verdict: l.Verdict})
	}
	for _, v := range []float64{-span, -span / 2, 0, span / 2, span} {
		f.Ticks = append(f.Ticks, tick{X: px(v), Label: fmt.Sprintf("%+.0f pt", 100*v)})
	}
	return f
}
