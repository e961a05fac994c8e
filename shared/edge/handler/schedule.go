package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
	"github.com/daifuku/daifuku/shared/flows/daily"
	"github.com/daifuku/daifuku/shared/flows/flow"
	"github.com/daifuku/daifuku/shared/flows/reconcile"
)

// Event is the input EventBridge Scheduler delivers (template.yaml sets it).
type Event struct {
	Task string `json:"task"`           // "daily" or "release"
	Date string `json:"date,omitempty"` // YYYY-MM-DD: run the schedule as on this date (backfill)
}

// Tasks answers the scheduled events.
type Tasks struct {
	flow.Env
	Runner     *daily.Runner
	Releaser   daily.Releaser
	Campaigns  *campaigns.Runner
	Reconciler *reconcile.Reconciler
}

// Handle runs the task an event names.
func (t *Tasks) Handle(ctx context.Context, raw json.RawMessage) (string, error) {
	var ev Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return "", fmt.Errorf("schedule event: %w", err)
	}
	now := t.Now()
	switch ev.Task {
	case "daily":
		if ev.Date != "" {
			at, err := daily.DateAt(ev.Date, customer.DefaultLocation())
			if err != nil {
				return "", err
			}
			now = at
		}
		rep, err := t.Runner.Run(ctx, now, false)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("daily %s: %d customers, %d decisions, %d items read", rep.Date, rep.Customers, len(rep.Decisions), rep.ItemsRead), nil
	case "release":
		// Hourly: deferred messages whose time came; stranded messages back on
		// the queue; campaigns whose time came; campaigns all of whose
		// messages are settled, marked sent. Each runs whatever the others did.
		var errs []error
		n, err := t.Runner.Release(ctx, t.Releaser, now)
		errs = append(errs, err)
		sweep, err := t.Reconciler.Sweep(ctx, now)
		errs = append(errs, err)
		reps, err := t.Campaigns.SendDue(ctx, now)
		errs = append(errs, err)
		done, err := t.Campaigns.Complete(ctx, now)
		errs = append(errs, err)
		fanned, busy := 0, 0
		for _, r := range reps {
			if r.Busy != nil {
				busy++
			} else {
				fanned++
			}
		}
		out := fmt.Sprintf("released %d, fanned out %d campaigns (%d held by another run), %d campaigns complete", n, fanned, busy, len(done))
		if sweep != nil {
			out += fmt.Sprintf("; swept %d stranded: %d requeued (%d ambiguous emails sent again), %d failed for good",
				sweep.Stranded, sweep.Requeued, sweep.Resent, sweep.GaveUp)
			for name, depth := range sweep.Dead {
				if depth > 0 {
					out += fmt.Sprintf("; %d in the %s dead-letter queue", depth, name)
				}
			}
		}
		return out, errors.Join(errs...)
	}
	return "", fmt.Errorf("schedule event: unknown task %q (want daily or release)", ev.Task)
}
