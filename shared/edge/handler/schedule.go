package handler

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
	"github.com/daifuku/daifuku/shared/flows/daily"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// Event is the input EventBridge Scheduler delivers (template.yaml sets it).
type Event struct {
	Task string `json:"task"`           // "daily" or "release"
	Date string `json:"date,omitempty"` // YYYY-MM-DD: run the schedule as on this date (backfill)
}

// Tasks answers the scheduled events.
type Tasks struct {
	flow.Env
	Runner    *daily.Runner
	Releaser  daily.Releaser
	Campaigns *campaigns.Runner
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
		// Hourly: deferred messages whose time came, then campaigns whose time came.
		n, err := t.Runner.Release(ctx, t.Releaser, now)
		if err != nil {
			return "", err
		}
		reps, err := t.Campaigns.SendDue(ctx, now)
		return fmt.Sprintf("released %d, sent %d campaigns", n, len(reps)), err
	}
	return "", fmt.Errorf("schedule event: unknown task %q (want daily or release)", ev.Task)
}
