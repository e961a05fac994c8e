// Package daily is the morning run: it decides who gets what today — lapses,
// plan steps, birthdays — applies the delivery policies, records every
// decision in the messages table and queues what may go. It reads only the
// customers something is due for, through indexes, never the whole ledger,
// and is safe to run twice: message keys make the second run a no-op.
package daily

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/points"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// Ledger is what the run reads and writes.
type Ledger interface {
	CustomersDue(ctx context.Context, day string) ([]*customer.Customer, int, error)
	CustomersBornOn(ctx context.Context, md string) ([]*customer.Customer, int, error)
	Customer(ctx context.Context, id string) (*customer.Customer, error)
	SaveCustomer(ctx context.Context, c *customer.Customer) error
	// CommitPoints saves a customer whose points expired with their expire entries, together.
	CommitPoints(ctx context.Context, c *customer.Customer, entries ...points.Entry) error
	Message(ctx context.Context, key message.Key) (*message.Record, error)
	CreateMessage(ctx context.Context, r message.Record, capped delivery.CapChange) (bool, error)
	flow.MoveCounter
}

// Queue hands jobs to the sender.
type Queue interface {
	Enqueue(ctx context.Context, jobs ...message.Job) error
}

// Defaults of a run.
const (
	DefaultCatchUpDays = 7 // a missed run is made up for within a week
	MorningHour        = 9 // birthdays wait for the customer's 09:00
	workers            = 8 // customers processed at once
)

// Runner runs the daily schedule.
type Runner struct {
	flow.Env
	Ledger      Ledger
	Queue       Queue
	Rules       *rank.Rules
	Plans       *plan.Plans
	Policy      delivery.Policy
	Zone        *time.Location // the shop's zone: which date "today" is; Asia/Tokyo by default
	CatchUpDays int
	// ContentFiles are the running content's file versions: each decision
	// records its template's, for the report.
	ContentFiles map[string]int
	// Points is the points card (points.yaml): expiry and its reminder; nil: none.
	Points *points.Config
}

// Decision is one message the run decided on.
type Decision struct {
	CustomerID string
	Kind       message.Kind
	Plan, Step string
	Template   string
	Key        message.Key
	Status     message.Status // queued or suppressed; "" when a previous run decided it
	Reason     string
	NotBefore  time.Time
}

// Report is what a run did (or, dry, would do).
type Report struct {
	Date        string
	DryRun      bool
	ItemsRead   int // index items read to select customers
	Customers   int // customers looked at
	RankChanges int
	Lapsed      int
	// PointsExpired counts the points that passed their last valid day.
	PointsExpired int64
	Decisions     []Decision // new decisions (a dry run lists all it would make)
	Repeated      int        // messages due that an earlier run already decided
}

// Run runs the schedule for the date of now in the shop's zone. A dry run
// decides the same things but writes and sends nothing.
func (r *Runner) Run(ctx context.Context, now time.Time, dryRun bool) (*Report, error) {
	today := plan.DayOf(now, r.zone())
	rep := &Report{Date: today.String(), DryRun: dryRun}
	customers, err := r.selectCustomers(ctx, today, rep)
	if err != nil {
		return nil, err
	}
	picks, err := r.surprises(ctx, today, now, rep)
	if err != nil {
		return nil, err
	}
	surprised := map[string]bool{}
	for _, c := range picks {
		if !slices.ContainsFunc(customers, func(o *customer.Customer) bool { return o.ID == c.ID }) {
			customers = append(customers, c)
		}
		surprised[c.ID] = true
	}
	rep.Customers = len(customers)

	var (
		mu   sync.Mutex
		errs []error
		pool errgroup.Group
	)
	pool.SetLimit(workers)
	for _, c := range customers {
		pool.Go(func() error {
			out, err := r.visit(ctx, c, today, now, dryRun, surprised[c.ID])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("customer %s: %w", c.ID, err))
				return nil
			}
			for _, d := range out.decisions {
				if d.Status == "" {
					rep.Repeated++
					continue
				}
				rep.Decisions = append(rep.Decisions, d)
			}
			rep.RankChanges += out.rankChanges
			rep.Lapsed += out.lapsed
			rep.PointsExpired += out.pointsExpired
			return nil
		})
	}
	_ = pool.Wait() // every error is in errs
	sort.Slice(rep.Decisions, func(i, j int) bool { return rep.Decisions[i].Key < rep.Decisions[j].Key })
	r.Logger().InfoContext(ctx, "daily run", "date", rep.Date, "dry_run", dryRun, "customers", rep.Customers,
		"items_read", rep.ItemsRead, "decisions", len(rep.Decisions), "repeated", rep.Repeated, "lapsed", rep.Lapsed, "errors", len(errs))
	// Customers that failed are retried by the next run (their next_due is unchanged).
	return rep, errors.Join(errs...)
}

// select_ reads the customers due today (and on the missed days before) and
// those whose birthday it is.
func (r *Runner) selectCustomers(ctx context.Context, today plan.Day, rep *Report) ([]*customer.Customer, error) {
	byID := map[string]*customer.Customer{}
	add := func(cs []*customer.Customer, read int) {
		rep.ItemsRead += read
		for _, c := range cs {
			byID[c.ID] = c
		}
	}
	for d := today.AddDays(-r.catchUp()); !today.Before(d); d = d.AddDays(1) {
		cs, read, err := r.Ledger.CustomersDue(ctx, d.String())
		if err != nil {
			return nil, err
		}
		add(cs, read)
	}
	if r.Plans.Birthday.Enabled {
		for _, md := range BirthdayKeys(today) {
			cs, read, err := r.Ledger.CustomersBornOn(ctx, md)
			if err != nil {
				return nil, err
			}
			add(cs, read)
		}
	}
	out := make([]*customer.Customer, 0, len(byID))
	for _, c := range byID {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// BirthdayKeys are the birthday index keys celebrated on a date: its MM-DD,
// and on 28 February of a common year also 02-29.
func BirthdayKeys(d plan.Day) []string {
	keys := []string{fmt.Sprintf("%02d-%02d", d.M, d.D)}
	if d.M == 2 && d.D == 28 && !leap(d.Y) {
		keys = append(keys, "02-29")
	}
	return keys
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func (r *Runner) zone() *time.Location {
	if r.Zone != nil {
		return r.Zone
	}
	return customer.DefaultLocation()
}

func (r *Runner) catchUp() int {
	if r.CatchUpDays > 0 {
		return r.CatchUpDays
	}
	return DefaultCatchUpDays
}
