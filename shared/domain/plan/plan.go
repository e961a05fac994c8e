// Package plan holds the follow-up plans (フォロー計画): for each rank, which
// message goes out when (an offset in days from an anchor such as the first
// purchase or the day the customer entered the rank), on which channel, and
// under which condition. Plans are versioned: every message records the plan
// and version that produced it, so their effect can be measured.
package plan

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/experiment"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
)

// Anchor is the event a step counts its days from.
type Anchor string

// The anchors a step may use.
const (
	Signup        Anchor = "signup"
	FriendAdded   Anchor = "friend_added"
	FirstPurchase Anchor = "first_purchase"
	LastPurchase  Anchor = "last_purchase"
	RankEntered   Anchor = "rank_entered"
)

var anchors = []Anchor{Signup, FriendAdded, FirstPurchase, LastPurchase, RankEntered}

// Condition limits a step to customers it still fits.
type Condition string

// The conditions a step may carry.
const (
	Always Condition = ""
	// NoPurchaseSinceAnchor skips the step when the customer bought after its anchor.
	NoPurchaseSinceAnchor Condition = "no_purchase_since_anchor"
)

// Step is one message of a plan.
type Step struct {
	ID       string
	Anchor   Anchor
	Days     int
	Kind     message.Kind
	Template string           // template folder, e.g. "step/new-arrival"
	Channel  customer.Channel // preferred channel; "" follows the customer's preference
	When     Condition
	// Ask is the id of a one-tap question (feedback.yaml questions) the
	// message asks, e.g. why a lapsed customer stopped buying.
	Ask  string
	Line int
	// Design holds a share out of the step's message, and splits the rest
	// between variants (experiment.Design).
	Design   experiment.Design
	Warnings []string // a design that works badly (a holdout over 50%)
}

// Warnings are the designs that work badly, by plan and step.
func (ps *Plans) Warnings() []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(ps.plans)) {
		out = append(out, ps.plans[name].Warnings...)
		for _, s := range ps.plans[name].Steps {
			for _, w := range s.Warnings {
				out = append(out, fmt.Sprintf("plans.yaml:%d: plan %q step %q: %s", s.Line, name, s.ID, w))
			}
		}
	}
	return out
}

// Unit names what a step's lots are drawn for: the plan, its version and
// the step. A new version draws anew.
func (s Step) Unit(planName string, version int) string {
	return fmt.Sprintf("plan:%s@%d/step:%s", planName, version, s.ID)
}

// Plan is the steps for one rank (or for lapsed customers).
type Plan struct {
	Name  string // the rank id, "<rank>:lapsed", or "lapsed"
	Steps []Step
	// Holdout keeps a stable share of the plan's customers (per version)
	// from every one of its steps, to measure the plan as a whole.
	Holdout  experiment.Share
	Warnings []string
}

// Unit is what a whole-plan holdout draws for: the plan at a version.
func (p *Plan) Unit(version int) string { return fmt.Sprintf("plan:%s@%d", p.Name, version) }

// Lot is what a customer drew for a step due: held out of the whole plan,
// else the step's own holdout or variant.
func (ps *Plans) Lot(customerID string, d Due) (lot experiment.Lot, reason string) {
	if p := ps.plans[d.Plan]; p != nil && p.Holdout > 0 {
		if whole := (experiment.Design{Holdout: p.Holdout}).Draw(customerID, p.Unit(ps.Version)); whole.HeldOut {
			return whole, "held out of plan " + d.Plan + " v" + strconv.Itoa(ps.Version) + " (" + p.Holdout.String() + ") to measure it"
		}
	}
	lot = d.Step.Design.Draw(customerID, d.Step.Unit(d.Plan, ps.Version))
	if lot.HeldOut {
		reason = "held out of this step (" + d.Step.Design.Holdout.String() + ") to measure it"
	}
	return lot, reason
}

// Plans is the whole plans file.
type Plans struct {
	Version int
	// Hypothesis is what this version of the plans tests, in the marketer's
	// words; Started is when it went live (the zero Day when not said).
	Hypothesis string
	Started    Day
	Birthday   Birthday
	Surprise   Surprise
	plans      map[string]*Plan
}

// Surprise configures unexpected gifts (予期せぬプレゼント): each month, on
// DayOfMonth, Share of the customers of each of Ranks (the active side) get a
// surprise, never twice within NotWithinDays.
type Surprise struct {
	Ranks         []string
	Share         float64
	DayOfMonth    int
	NotWithinDays int
	CouponCode    string
	CouponNote    string
}

// Birthday configures birthday messages.
type Birthday struct {
	Enabled    bool
	CouponCode string
	CouponNote string
}

// LapsedPlan is the plan of every lapsed customer whose rank has no "<rank>:lapsed" plan.
const LapsedPlan = "lapsed"

// For returns the plan a rank follows.
func (ps *Plans) For(rk rank.Rank) (*Plan, bool) {
	if rk.Lapsed {
		if p, ok := ps.plans[rk.String()]; ok {
			return p, true
		}
		p, ok := ps.plans[LapsedPlan]
		return p, ok
	}
	p, ok := ps.plans[rk.ID]
	return p, ok
}

// Names lists the plans, for reports.
func (ps *Plans) Names() []string {
	var out []string
	for n := range ps.plans {
		out = append(out, n)
	}
	return out
}

// AnchorTime returns when an anchor happened for a customer, if it did.
func AnchorTime(c *customer.Customer, a Anchor) (time.Time, bool) {
	var t time.Time
	switch a {
	case Signup:
		t = c.SignedUpAt
	case FriendAdded:
		t = c.FriendAddedAt
	case FirstPurchase:
		t = c.Purchases.First
	case LastPurchase:
		t = c.Purchases.Last
	case RankEntered:
		t = c.RankSince
	}
	return t, !t.IsZero()
}

// Due is a step that falls on a day for a customer.
type Due struct {
	Plan   string
	Step   Step
	Anchor time.Time
	Key    message.Key
}

// Day is a calendar date in a customer's time zone.
type Day struct{ Y, M, D int }

// DayOf is the date of t in loc.
func DayOf(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return Day{y, int(m), d}
}

// ParseDay reads YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Day{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return Day{t.Year(), int(t.Month()), t.Day()}, nil
}

// AddDays moves a date.
func (d Day) AddDays(n int) Day {
	t := time.Date(d.Y, time.Month(d.M), d.D+n, 12, 0, 0, 0, time.UTC)
	return Day{t.Year(), int(t.Month()), t.Day()}
}

// Before reports whether d comes before e.
func (d Day) Before(e Day) bool { return d.String() < e.String() }

func (d Day) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Y, d.M, d.D) }

// IsZero says the day was never set.
func (d Day) IsZero() bool { return d == Day{} }

// At is the instant of a local wall-clock time on this date.
func (d Day) At(hour int, loc *time.Location) time.Time {
	return time.Date(d.Y, time.Month(d.M), d.D, hour, 0, 0, 0, loc)
}

// DueOn lists the steps of the customer's plan that fall between from and day
// (their local dates, both included): a run that was missed is made up for
// by the next one, whose message keys stop a second copy. Steps whose
// condition no longer holds are left out.
func (ps *Plans) DueOn(c *customer.Customer, from, day Day) []Due {
	p, ok := ps.For(rank.Parse(c.Rank))
	if !ok {
		return nil
	}
	loc := c.Location()
	var out []Due
	for _, s := range p.Steps {
		at, ok := AnchorTime(c, s.Anchor)
		if !ok {
			continue
		}
		due := DayOf(at, loc).AddDays(s.Days)
		if day.Before(due) || due.Before(from) {
			continue
		}
		if s.When == NoPurchaseSinceAnchor && c.Purchases.Last.After(at) {
			continue
		}
		occasion := strings.Join([]string{"plan", p.Name, s.ID, DayOf(at, loc).String()}, ":")
		out = append(out, Due{Plan: p.Name, Step: s, Anchor: at, Key: message.NewKey(s.Kind, c.ID, occasion)})
	}
	return out
}

// NextDue is the first date after day on which a step of the customer's
// current plan falls, or ok=false when none will.
func (ps *Plans) NextDue(c *customer.Customer, day Day) (next Day, ok bool) {
	p, found := ps.For(rank.Parse(c.Rank))
	if !found {
		return Day{}, false
	}
	loc := c.Location()
	for _, s := range p.Steps {
		at, has := AnchorTime(c, s.Anchor)
		if !has {
			continue
		}
		due := DayOf(at, loc).AddDays(s.Days)
		if day.Before(due) && (!ok || due.Before(next)) {
			next, ok = due, true
		}
	}
	return next, ok
}

// NextVisit is the customer-local date the daily run should next look at a
// customer, counting from (and including) today: the next plan step, the
// day they would lapse, or a points reminder or expiry. "" when nothing will
// ever be due.
func (ps *Plans) NextVisit(rules *rank.Rules, c *customer.Customer, now time.Time) string {
	loc := c.Location()
	today := DayOf(now, loc)
	next, ok := ps.NextDue(c, today.AddDays(-1))
	rk := rank.Parse(c.Rank)
	if rule, found := rules.Get(rk.ID); found && !rk.Lapsed && rule.LapsedAfterDays > 0 {
		last := c.Purchases.Last
		if last.IsZero() {
			last = c.SignedUpAt
		}
		if !last.IsZero() {
			// Lapsed means more than L whole days since the purchase: by the
			// morning of day L+2 that holds whatever the hour of the purchase.
			lapse := DayOf(last, loc).AddDays(int(rule.LapsedAfterDays) + 2)
			if lapse.Before(today) {
				lapse = today
			}
			if !ok || lapse.Before(next) {
				next, ok = lapse, true
			}
		}
	}
	// The points card's reminder and expiry dates (already in the customer's zone).
	if d, err := ParseDay(c.Points.Due(today.String())); err == nil && (!ok || d.Before(next)) {
		next, ok = d, true
	}
	if !ok {
		return ""
	}
	return next.String()
}
