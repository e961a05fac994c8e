package daily

import (
	"context"
	"fmt"
	"time"

	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/plan"
)

// Releaser is what the hourly release needs.
type Releaser interface {
	DeferredIn(ctx context.Context, slot string) ([]*message.Record, error)
}

// Release queues again the deferred messages whose time has come (quiet hours
// ended, the customer's morning arrived). It returns how many it queued.
func (r *Runner) Release(ctx context.Context, ledger Releaser, now time.Time) (int, error) {
	var jobs []message.Job
	for h := int(message.ReleaseWindow / time.Hour); h >= 0; h-- {
		recs, err := ledger.DeferredIn(ctx, message.ReleaseSlotOf(now.Add(-time.Duration(h)*time.Hour)))
		if err != nil {
			return 0, err
		}
		for _, rec := range recs {
			if rec.Status == message.Deferred && rec.Job != nil && !rec.NotBefore.After(now) {
				jobs = append(jobs, *rec.Job)
			}
		}
	}
	if len(jobs) == 0 {
		return 0, nil
	}
	if err := r.Queue.Enqueue(ctx, jobs...); err != nil {
		return 0, fmt.Errorf("release %d deferred messages: %w", len(jobs), err)
	}
	r.Logger().InfoContext(ctx, "deferred messages released", "count", len(jobs))
	return len(jobs), nil
}

// DateAt is the morning of a date in the shop's zone: when a what-if or
// backfill run of that date happens.
func DateAt(date string, zone *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, date, zone)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD", date)
	}
	return t.Add(MorningHour * time.Hour), nil
}

// VisitNow runs today's visit for one customer at once: a new LINE friend
// gets the day-0 welcome of their plan within seconds, as LINE users expect,
// not at tomorrow's daily run. The visit's keys make it safe to repeat.
func (r *Runner) VisitNow(ctx context.Context, customerID string, now time.Time) error {
	c, err := r.Ledger.Customer(ctx, customerID)
	if err != nil {
		return err
	}
	_, err = r.visit(ctx, c, plan.DayOf(now, r.zone()), now, false, false)
	return err
}
