// Package simulate runs a synthetic shop through the real pipeline, day by
// day, for the demo and for the proof that the report tells the truth.
//
// The model: every follow-up step decided for a customer (sent, or held out
// of it) draws once whether the customer orders again within the step's
// attribution window, at a base rate for their rank, plus the true effect X
// when they were sent it. The order then arrives at a random moment inside
// the window and goes through the order intake like any other. Steps are
// anchored so a customer has one open step at a time, so each row of the
// report estimates X itself. Nothing else orders: the shop is its steps.
package simulate

import (
	"context"
	_ "embed"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/report"
	"github.com/daifuku/daifuku/templates"
)

//go:embed plans.yaml
var plansYAML []byte

// Content is the shop's content with the simulation's plans: one step per
// rank, each with a holdout.
func Content(templates fs.FS) (*content.Content, error) {
	c, err := content.LoadContent(templates)
	if err != nil {
		return nil, err
	}
	c.Plans, err = plan.Parse("simulate/plans.yaml", plansYAML, plan.Known{
		Rank:     func(id string) bool { _, ok := c.Rules.Get(id); return ok },
		Template: c.Templates.HasDir,
	})
	return c, err
}

// Options size a simulation.
type Options struct {
	Customers int
	Months    int
	Effect    float64 // the true lift of every step on repurchase within its window
	Seed      uint64
	// End is when the simulation stops; it runs the Months whole months
	// before End's month (Japan's), so the report's months are complete.
	End time.Time
}

// Result says what happened.
type Result struct {
	Months    []string // the months simulated, oldest first
	Customers int
	Decisions int // steps decided (sent or held out)
	Orders    int
}

// Base is the chance a rank's customer orders again within a step's window
// without the step; lapsed customers have half their rank's.
var Base = map[string]float64{"prospect": 0.05, "new": 0.12, "early": 0.18, "repeater": 0.22, "semi-royal": 0.28, "royal": 0.32}

func base(rk string) float64 {
	r := rank.Parse(rk)
	b := Base[r.ID]
	if r.Lapsed {
		b /= 2
	}
	return b
}

// jst is the shop's zone: its days start at midnight in Japan.
var jst = time.FixedZone("JST", 9*3600)

// Run simulates the shop on env, whose clock setClock moves. It goes on a
// window past End's month, so every step of the months reported has its
// whole window to bring an order.
func Run(ctx context.Context, env *local.Env, setClock func(time.Time), o Options) (*Result, error) {
	if o.Customers < 1 || o.Months < 1 || o.Effect < 0 || o.Effect > 0.5 {
		return nil, fmt.Errorf("simulate: want customers ≥ 1, months ≥ 1 and an effect in [0, 0.5]")
	}
	endMonth := o.End.In(jst)
	end := time.Date(endMonth.Year(), endMonth.Month(), 1, 0, 0, 0, 0, jst)
	start := end.AddDate(0, -o.Months, 0)
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed))
	res := &Result{Customers: o.Customers}
	for m := start; m.Before(end); m = m.AddDate(0, 1, 0) {
		res.Months = append(res.Months, report.Month(m))
	}

	// The ledger as it stands the day before: buyers whose last order was
	// in the 45 days before, and prospects who sign up as the days go by.
	type arrival struct {
		at time.Time
		c  *customer.Customer
	}
	var arrivals []arrival
	days := int(end.Sub(start).Hours() / 24)
	for i := range o.Customers {
		c := &customer.Customer{ID: fmt.Sprintf("S%06d", i), Name: fmt.Sprintf("顧客 %d", i)}
		if i%2 == 0 {
			c.LINEUserID, c.Consent.LINE = fmt.Sprintf("U%032x", i), true
		} else {
			c.Email, c.Consent.Email = fmt.Sprintf("s%06d@example.jp", i), true
		}
		if rng.IntN(10) < 3 { // a prospect, signing up during the simulation
			c.SignedUpAt = start.Add(time.Duration(rng.IntN(max(1, days-10)*24)) * time.Hour)
			if c.LINEUserID != "" {
				c.FriendAddedAt = c.SignedUpAt
			}
			arrivals = append(arrivals, arrival{c.SignedUpAt, c})
			continue
		}
		count := 1
		for count < 12 && rng.Float64() < 0.45 {
			count++
		}
		last := start.Add(-time.Duration(rng.IntN(45*24)+1) * time.Hour)
		first := last.Add(-time.Duration(count-1) * 50 * 24 * time.Hour)
		c.SignedUpAt = first.Add(-time.Hour)
		if c.LINEUserID != "" {
			c.FriendAddedAt = c.SignedUpAt
		}
		c.Purchases = customer.Purchases{Count: count, TotalSpend: int64(count) * int64(4000+rng.IntN(10000)), First: first, Last: last}
		arrivals = append(arrivals, arrival{start.Add(-24 * time.Hour), c})
	}
	slices.SortStableFunc(arrivals, func(a, b arrival) int { return a.at.Compare(b.at) })

	type order struct {
		at time.Time
		o  customer.Order
	}
	var orders []order
	n := 0
	window := env.Content.Policy.Attribution.Of(message.Step)
	stop := end.Add(window)
	for day := start.Add(-24 * time.Hour); day.Before(stop); day = day.AddDate(0, 0, 1) {
		morning := day.Add(9 * time.Hour)
		// Orders placed since yesterday's run, in time order.
		slices.SortStableFunc(orders, func(a, b order) int { return a.at.Compare(b.at) })
		for len(orders) > 0 && orders[0].at.Before(morning) {
			setClock(orders[0].at)
			if _, err := env.Intake.RecordOrder(ctx, orders[0].o); err != nil {
				return nil, fmt.Errorf("simulate: order: %w", err)
			}
			orders = orders[1:]
			res.Orders++
		}
		// Customers who signed up since.
		for len(arrivals) > 0 && arrivals[0].at.Before(morning) {
			setClock(arrivals[0].at)
			if _, err := env.Intake.ImportCustomer(ctx, arrivals[0].c); err != nil {
				return nil, fmt.Errorf("simulate: sign-up: %w", err)
			}
			arrivals = arrivals[1:]
		}
		setClock(morning)
		a := env.App
		rep, err := a.Daily.Run(ctx, morning, false)
		if err != nil {
			return nil, fmt.Errorf("simulate: daily run of %s: %w", morning.Format(time.DateOnly), err)
		}
		if err := env.SendQueued(ctx); err != nil {
			return nil, err
		}
		// Each step decided today draws its customer's next order.
		for _, d := range rep.Decisions {
			if d.Plan == "" || (d.Status != message.Queued && d.Status != message.HeldOut) {
				continue
			}
			res.Decisions++
			c, err := a.Store.Customer(ctx, d.CustomerID)
			if err != nil {
				return nil, err
			}
			p := base(c.Rank)
			if d.Status == message.Queued {
				p += o.Effect
			}
			if rng.Float64() >= p {
				continue
			}
			at := morning.Add(time.Hour + time.Duration(rng.Int64N(int64(window-2*time.Hour))))
			n++
			orders = append(orders, order{at, customer.Order{ID: fmt.Sprintf("SIM-%d-%d", o.Seed, n), CustomerID: c.ID,
				Total: int64(3000 + rng.IntN(12000)), OrderedAt: at}})
		}
	}
	return res, env.SendQueued(ctx)
}

// Shop starts a local environment (lo: where, and which tables) on the
// simulation's content and a clock of its own, and runs the simulation in
// it. The caller closes the environment.
func Shop(ctx context.Context, lo local.Options, o Options) (*local.Env, *Result, error) {
	c, err := Content(templates.FS)
	if err != nil {
		return nil, nil, err
	}
	var mu sync.Mutex
	now := o.End
	lo.Content, lo.Capture = c, true
	lo.Clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	env, err := local.Start(ctx, lo)
	if err != nil {
		return nil, nil, err
	}
	setClock := func(t time.Time) { mu.Lock(); defer mu.Unlock(); now = t }
	res, err := Run(ctx, env, setClock, o)
	if err != nil {
		env.Close()
		return nil, nil, err
	}
	setClock(o.End) // the report is read when the simulation said it ends
	return env, res, nil
}
