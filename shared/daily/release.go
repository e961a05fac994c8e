package daily

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/daifuku/daifuku/shared/message"
)

// Releaser is what the hourly release needs.
type Releaser interface {
	DeferredIn(ctx context.Context, slot string) ([]*message.Record, error)
}

// releaseLookback is how many past hours the release looks at, so a missed
// hourly run is made up for.
const releaseLookback = 48

// Release queues again the deferred messages whose time has come (quiet hours
// ended, the customer's morning arrived). It returns how many it queued.
func (r *Runner) Release(ctx context.Context, ledger Releaser, now time.Time) (int, error) {
	var jobs []message.Job
	for h := releaseLookback; h >= 0; h-- {
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
	r.log().InfoContext(ctx, "deferred messages released", "count", len(jobs))
	return len(jobs), nil
}

// Event is the input EventBridge Scheduler delivers (template.yaml sets it).
type Event struct {
	Task string `json:"task"`           // "daily" or "release"
	Date string `json:"date,omitempty"` // YYYY-MM-DD: run the schedule as on this date (backfill)
}

// Tasks answers the scheduled events.
type Tasks struct {
	Runner   *Runner
	Releaser Releaser
	Now      func() time.Time
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
			at, err := DateAt(ev.Date, t.Runner.zone())
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
		n, err := t.Runner.Release(ctx, t.Releaser, now)
		return fmt.Sprintf("released %d", n), err
	}
	return "", fmt.Errorf("schedule event: unknown task %q (want daily or release)", ev.Task)
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
