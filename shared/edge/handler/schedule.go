package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
	"github.com/daifuku/daifuku/shared/flows/daily"
	"github.com/daifuku/daifuku/shared/flows/events"
	"github.com/daifuku/daifuku/shared/flows/flow"
	"github.com/daifuku/daifuku/shared/flows/monthly"
	"github.com/daifuku/daifuku/shared/flows/reconcile"
)

// Event is the input EventBridge Scheduler delivers (template.yaml sets it).
type Event struct {
	Task string `json:"task"`           // "daily", "release" or "report"
	Date string `json:"date,omitempty"` // YYYY-MM-DD: run the schedule as on this date (backfill)
	// Month is the month the report task reports (YYYY-MM; "": the month
	// before this one in Japan, as on the 1st).
	Month string `json:"month,omitempty"`
}

// Tasks answers the scheduled events.
type Tasks struct {
	flow.Env
	Runner     *daily.Runner
	Releaser   daily.Releaser
	Campaigns  *campaigns.Runner
	Reconciler *reconcile.Reconciler
	Monthly    *monthly.Reporter
	Events     *events.Runner // nil: no events
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
		var evRep *events.Report
		if t.Events != nil {
			// Events: invitations (early ranks first), seats freed, reminders the day before, thanks.
			evRep, err = t.Events.Run(ctx, now)
			errs = append(errs, err)
		}
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
		if evRep != nil && evRep.Events > 0 {
			out += fmt.Sprintf("; %d events: %d invited, %d promoted from a waitlist", evRep.Events, evRep.Invited, evRep.Promoted)
		}
		return out, errors.Join(errs...)
	case "report":
		// Monthly, on the 1st: a redelivery stores the same files again and
		// finds the summary sent.
		res, err := t.Monthly.Run(ctx, ev.Month)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("report %s: %d rows, %d highlights, stored at %s; summary %s",
			res.Month, res.Rows, res.Highlights, strings.Join(res.Keys, " and "), res.Email), nil
	}
	return "", fmt.Errorf("schedule event: unknown task %q (want daily, release or report)", ev.Task)
}
