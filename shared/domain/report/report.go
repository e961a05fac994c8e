// Package report is the owner's monthly question, answered: did each plan
// step, template and variant bring customers back, and by how much, against
// the customers held out of it. Its numbers are counters kept as things
// happen (a decision, a send, an attributed order), one item per month and
// row, so a month's report reads as many items as it has rows.
package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/stats"
)

// Row is what a report row is about: the rank at sending, the kind, plan,
// plan version, step, template and variant of the decisions it counts.
type Row struct {
	Rank        string       `json:"rank"`
	Kind        message.Kind `json:"kind"`
	Plan        string       `json:"plan"`
	PlanVersion int          `json:"plan_version"`
	Step        string       `json:"step"`
	Template    string       `json:"template"`
	// TemplateVersion is the template folder's version when decided (0:
	// built in, or chosen only at sending).
	TemplateVersion int    `json:"template_version"`
	Variant         string `json:"variant"`
}

// Month is the month a decision counts in: Japan's, as the shop reads it.
func Month(t time.Time) string { return t.In(customer.DefaultLocation()).Format("2006-01") }

// MonthBefore is the month before t's in Japan: the month the report on the
// 1st looks back on. (Lambda's clock is UTC: at 09:00 on 1 December in
// Japan it is still 00:00 there, and a UTC month would be wrong at other hours.)
func MonthBefore(t time.Time) string {
	d := t.In(customer.DefaultLocation())
	return time.Date(d.Year(), d.Month()-1, 1, 0, 0, 0, 0, d.Location()).Format("2006-01")
}

// Week is the week a decision counts in, named by its Monday in Japan.
func Week(t time.Time) string {
	d := t.In(customer.DefaultLocation())
	d = d.AddDate(0, 0, -(int(d.Weekday())+6)%7)
	return d.Format("2006-01-02")
}

// Items beside the rows in a month's partition: each week's counters (by
// week of decision) and the moves between ranks made in the month. Their
// keys start with "~", which no rank does.
const (
	weekPrefix = "~week|"
	movePrefix = "~move|"
)

// WeekKey is the key of the week a decision made at t counts in.
func WeekKey(t time.Time) string { return weekPrefix + Week(t) }

// MoveKey is the key of the moves from one rank to another.
func MoveKey(from, to string) string { return movePrefix + from + "|" + to }

// RowOf is the row a decision counts in: as it was decided (the template
// it was decided with, not the channel's file it was sent from), so every
// count of a message lands in the same row.
func RowOf(r *message.Record) Row {
	tpl := r.Template
	if r.Job != nil {
		tpl = r.Job.Template
	}
	return Row{Rank: r.Rank, Kind: r.Kind, Plan: r.Plan, PlanVersion: r.PlanVersion, Step: r.Step, Template: tpl,
		TemplateVersion: r.TemplateFolderVersion, Variant: r.Variant}
}

// Key is the row's sort key: its parts joined by "|" (none contains one).
func (r Row) Key() string {
	return strings.Join([]string{r.Rank, string(r.Kind), r.Plan, strconv.Itoa(r.PlanVersion), r.Step, r.Template, r.Variant,
		strconv.Itoa(r.TemplateVersion)}, "|")
}

// ParseKey reads a row back from its key (rows kept before template
// versions were have 7 parts: version 0).
func ParseKey(k string) (Row, error) {
	p := strings.Split(k, "|")
	if len(p) == 7 {
		p = append(p, "0")
	}
	if len(p) != 8 {
		return Row{}, fmt.Errorf("report row %q: want 8 parts", k)
	}
	v, err := strconv.Atoi(p[3])
	if err != nil {
		return Row{}, fmt.Errorf("report row %q: plan version: %w", k, err)
	}
	tv, err := strconv.Atoi(p[7])
	if err != nil {
		return Row{}, fmt.Errorf("report row %q: template version: %w", k, err)
	}
	return Row{Rank: p[0], Kind: message.Kind(p[1]), Plan: p[2], PlanVersion: v, Step: p[4], Template: p[5], Variant: p[6], TemplateVersion: tv}, nil
}

// Counters are a row's numbers. Decided counts every decision; HeldOut
// those held out; Sent those the provider took (the treated group).
// Repurchased counts decisions followed by an order within their window,
// once each; Revenue sums those orders' totals (yen).
type Counters struct {
	Decided            int64 `dynamodbav:"decided" json:"decided"`
	HeldOut            int64 `dynamodbav:"held_out" json:"held_out"`
	Sent               int64 `dynamodbav:"sent" json:"sent"`
	TreatedRepurchased int64 `dynamodbav:"treated_repurchased" json:"treated_repurchased"`
	TreatedRevenue     int64 `dynamodbav:"treated_revenue" json:"treated_revenue"`
	HeldRepurchased    int64 `dynamodbav:"holdout_repurchased" json:"holdout_repurchased"`
	HeldRevenue        int64 `dynamodbav:"holdout_revenue" json:"holdout_revenue"`
	// Engagement: firsts, one per message.
	Delivered    int64 `dynamodbav:"delivered" json:"delivered"`
	Opened       int64 `dynamodbav:"opened" json:"opened"`
	Clicked      int64 `dynamodbav:"clicked" json:"clicked"`
	Replied      int64 `dynamodbav:"replied" json:"replied"`
	Unsubscribed int64 `dynamodbav:"unsubscribed" json:"unsubscribed"`
	Complained   int64 `dynamodbav:"complained" json:"complained"`
	// The sums of squared revenue per customer, for the revenue's variance.
	TreatedRevenueSq int64 `dynamodbav:"treated_revenue_sq" json:"treated_revenue_sq"`
	HeldRevenueSq    int64 `dynamodbav:"holdout_revenue_sq" json:"holdout_revenue_sq"`
	// Rank movement within the window, once per decision: up or down the
	// ladder, treated and held out.
	TreatedUp   int64 `dynamodbav:"treated_rank_up" json:"treated_rank_up"`
	TreatedDown int64 `dynamodbav:"treated_rank_down" json:"treated_rank_down"`
	HeldUp      int64 `dynamodbav:"holdout_rank_up" json:"holdout_rank_up"`
	HeldDown    int64 `dynamodbav:"holdout_rank_down" json:"holdout_rank_down"`
	// Moved counts customers who moved between two ranks (move items only).
	Moved int64 `dynamodbav:"moved" json:"moved,omitempty"`
}

// revenueSample is a group's revenue per customer (0 for those who did not
// buy again), from its count, sum and sum of squares.
func revenueSample(n, sum, sq int64) stats.Sample {
	s := stats.Sample{N: int(n)}
	if n == 0 {
		return s
	}
	s.Mean = float64(sum) / float64(n)
	if n > 1 {
		s.Variance = math.Max(0, (float64(sq)-float64(sum)*s.Mean)/float64(n-1))
	}
	return s
}

// Group is one side of a comparison.
type Group struct {
	N           int64   `json:"n"`
	Repurchased int64   `json:"repurchased"`
	Revenue     int64   `json:"revenue"`
	Rate        float64 `json:"rate"`
	// Interval bounds Rate at 95% (Wilson), for the chart's bars.
	Low    float64 `json:"rate_low"`
	High   float64 `json:"rate_high"`
	RankUp int64   `json:"rank_up"`
	// RankDown counts customers who moved down the ladder within the window.
	RankDown int64 `json:"rank_down"`
}

// Line is one row of the report.
type Line struct {
	Row
	Counters
	Treated Group       `json:"treated"`
	Holdout Group       `json:"holdout"`
	Lift    *stats.Lift `json:"lift,omitempty"`
	// RevenueLift is revenue per customer, treated against held out (yen),
	// with Welch's interval.
	RevenueLift *stats.Lift `json:"revenue_lift,omitempty"`
	// Verdict says what the data can tell, in the owner's words.
	Verdict string `json:"verdict"`
	// Needed is how many customers a group needs to detect MinLift at 80%
	// power, when the data cannot tell yet.
	Needed int `json:"needed,omitempty"`
}

// MinLift is the lift the report sizes its "not yet" against: five points
// of repurchase.
const MinLift = 0.05

// Verdicts.
const (
	Undecided = "まだ判断できません"
	NoHoldout = "比較する対象（holdout）がありません"
	Better    = "効果あり"
	Worse     = "逆効果の可能性"
)

// groups are the counters' two sides: the customers sent the message and
// those held out of it.
func (c Counters) groups() (treated, holdout Group) {
	return groupOf(c.Sent, c.TreatedRepurchased, c.TreatedRevenue, c.TreatedUp, c.TreatedDown),
		groupOf(c.HeldOut, c.HeldRepurchased, c.HeldRevenue, c.HeldUp, c.HeldDown)
}

func groupOf(n, repurchased, revenue, up, down int64) Group {
	g := Group{N: n, Repurchased: repurchased, Revenue: revenue, RankUp: up, RankDown: down}
	if n > 0 {
		p := stats.Proportion{K: int(repurchased), N: int(n)}
		g.Rate = p.Rate()
		g.Low, g.High = p.Wilson()
	}
	return g
}

// LineOf compares a row's treated and held-out customers.
func LineOf(row Row, c Counters) Line {
	l := Line{Row: row, Counters: c}
	l.Treated, l.Holdout = c.groups()
	if c.HeldOut == 0 || c.Sent == 0 {
		l.Verdict = NoHoldout
		return l
	}
	lift := stats.DiffProportions(stats.Proportion{K: int(c.TreatedRepurchased), N: int(c.Sent)},
		stats.Proportion{K: int(c.HeldRepurchased), N: int(c.HeldOut)})
	if math.IsNaN(lift.Rel) {
		lift.Rel = 0 // JSON has no NaN: a held-out rate of 0 has no relative lift
	}
	l.Lift = &lift
	// Revenue's interval needs each group's variance: two customers at least.
	if c.Sent > 1 && c.HeldOut > 1 {
		rev := stats.DiffMeans(revenueSample(c.Sent, c.TreatedRevenue, c.TreatedRevenueSq), revenueSample(c.HeldOut, c.HeldRevenue, c.HeldRevenueSq))
		for _, v := range []*float64{&rev.Rel, &rev.Low, &rev.High} {
			if math.IsNaN(*v) || math.IsInf(*v, 0) {
				*v = 0 // JSON has neither (a held-out mean of 0 has no relative lift)
			}
		}
		l.RevenueLift = &rev
	}
	switch {
	case lift.Significant && lift.Abs > 0:
		l.Verdict = Better
	case lift.Significant:
		l.Verdict = Worse
	default:
		l.Verdict = Undecided
		l.Needed = stats.SampleSize(math.Max(l.Holdout.Rate, 0.01), MinLift)
	}
	return l
}

// Report is a month's lines, and what it cost to read them.
type Report struct {
	Month string `json:"month"`
	Rows  []Line `json:"rows"`
	// Weeks are the month's decisions by week, for the trend.
	Weeks []WeekLine `json:"weeks"`
	// Moves are the month's moves between ranks, for the matrix.
	Moves     []Move `json:"moves"`
	ItemsRead int    `json:"items_read"`
}

// WeekLine is a week's decisions: sent and held out, and who bought again.
type WeekLine struct {
	Week string `json:"week"` // its Monday
	Counters
	Treated Group `json:"treated"`
	Holdout Group `json:"holdout"`
}

// Move is how many customers moved from one rank to another.
type Move struct {
	From string `json:"from"`
	To   string `json:"to"`
	N    int64  `json:"n"`
}

// Build makes a month's report from its counters, rows in a stable order
// (rank, kind, plan, version, step, template, variant).
func Build(month string, counters map[string]Counters, itemsRead int) (*Report, error) {
	r := &Report{Month: month, Rows: []Line{}, Weeks: []WeekLine{}, Moves: []Move{}, ItemsRead: itemsRead}
	keys := make([]string, 0, len(counters))
	for k := range counters {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c := counters[k]
		if w, ok := strings.CutPrefix(k, weekPrefix); ok {
			wl := WeekLine{Week: w, Counters: c}
			wl.Treated, wl.Holdout = c.groups()
			r.Weeks = append(r.Weeks, wl)
			continue
		}
		if m, ok := strings.CutPrefix(k, movePrefix); ok {
			from, to, _ := strings.Cut(m, "|")
			r.Moves = append(r.Moves, Move{From: from, To: to, N: c.Moved})
			continue
		}
		row, err := ParseKey(k)
		if err != nil {
			return nil, err
		}
		r.Rows = append(r.Rows, LineOf(row, c))
	}
	return r, nil
}

// add sums two rows' counters.
func (c Counters) add(o Counters) Counters {
	return Counters{Decided: c.Decided + o.Decided, HeldOut: c.HeldOut + o.HeldOut, Sent: c.Sent + o.Sent,
		TreatedRepurchased: c.TreatedRepurchased + o.TreatedRepurchased, TreatedRevenue: c.TreatedRevenue + o.TreatedRevenue,
		HeldRepurchased: c.HeldRepurchased + o.HeldRepurchased, HeldRevenue: c.HeldRevenue + o.HeldRevenue,
		Delivered: c.Delivered + o.Delivered, Opened: c.Opened + o.Opened, Clicked: c.Clicked + o.Clicked,
		Replied: c.Replied + o.Replied, Unsubscribed: c.Unsubscribed + o.Unsubscribed, Complained: c.Complained + o.Complained,
		TreatedRevenueSq: c.TreatedRevenueSq + o.TreatedRevenueSq, HeldRevenueSq: c.HeldRevenueSq + o.HeldRevenueSq,
		TreatedUp: c.TreatedUp + o.TreatedUp, TreatedDown: c.TreatedDown + o.TreatedDown,
		HeldUp: c.HeldUp + o.HeldUp, HeldDown: c.HeldDown + o.HeldDown, Moved: c.Moved + o.Moved}
}

// Rollup is the lines that share a key, summed into one line each (the key
// is the summed line's Row), in the order keys first appear. It counts
// decisions: a customer in two rows counts twice.
func Rollup(lines []Line, key func(Line) Row) []Line {
	var order []Row
	sums := map[Row]Counters{}
	for _, l := range lines {
		k := key(l)
		if _, ok := sums[k]; !ok {
			order = append(order, k)
		}
		sums[k] = sums[k].add(l.Counters)
	}
	out := make([]Line, len(order))
	for i, k := range order {
		out[i] = LineOf(k, sums[k])
	}
	return out
}

// Highlights are the rows with the n biggest significant lifts and the n
// biggest drops, for the monthly summary: biggest first.
func Highlights(r *Report, n int) []Line {
	var ups, downs []Line
	for _, l := range r.Rows {
		switch l.Verdict {
		case Better:
			ups = append(ups, l)
		case Worse:
			downs = append(downs, l)
		}
	}
	slices.SortStableFunc(ups, func(a, b Line) int { return cmp.Compare(b.Lift.Abs, a.Lift.Abs) })
	slices.SortStableFunc(downs, func(a, b Line) int { return cmp.Compare(a.Lift.Abs, b.Lift.Abs) })
	return append(ups[:min(n, len(ups))], downs[:min(n, len(downs))]...)
}
