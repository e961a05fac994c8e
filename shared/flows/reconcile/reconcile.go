// Package reconcile keeps the ledger adding up: every decided message is
// sent or accounted for. Once an hour (and locally, after every drain) it
// reads the messages still in flight past their due time, through an index,
// and puts each back on the send queue, where the sender's claim keeps a
// second copy from going out. An ambiguous email SendGrid never reported is
// sent again; a message stranded too often is failed for good, with the
// reason. It also reports how deep the dead-letter queues are.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// Ledger is what the reconciler reads and writes.
type Ledger interface {
	Stranded(ctx context.Context, before time.Time) ([]*message.Record, error)
	Requeued(ctx context.Context, rec *message.Record, now time.Time, sweep bool) error
	RetryAmbiguous(ctx context.Context, key message.Key, now time.Time, reason string) error
	GiveUp(ctx context.Context, rec *message.Record, now time.Time, reason string) error
	Message(ctx context.Context, key message.Key) (*message.Record, error)
	CampaignState(ctx context.Context, id string) (campaign.State, error)
}

// Queue hands jobs to the sender.
type Queue interface {
	Enqueue(ctx context.Context, jobs ...message.Job) error
}

// DeadLetters is a dead-letter queue whose depth is worth knowing.
type DeadLetters interface {
	Depth(ctx context.Context) (int, error)
}

// DefaultGrace is how long past its due time a message may still be on its
// way before it counts as stranded: SQS's retries of a failed job (five
// receives, minutes apart) and a campaign run's lease end well within it.
const DefaultGrace = time.Hour

// Reconciler sweeps stranded messages back onto the send queue.
type Reconciler struct {
	flow.Env
	Ledger Ledger
	Queue  Queue
	Grace  time.Duration
	// EmailEvents says SendGrid's event webhook is set up, so an ambiguous
	// email without a processed event by its recheck time was not taken.
	EmailEvents bool
	// DeadLetters are the dead-letter queues to watch, by name.
	DeadLetters map[string]DeadLetters
}

// Stuck is a stranded message and why it is stranded, in words for people.
type Stuck struct {
	Record *message.Record
	Why    string
	// Fanning: its campaign's runs still decide and multicast; its next run
	// carries the message on, so no sweep or redrive touches it.
	Fanning bool
}

// Report is what a sweep found and did.
type Report struct {
	Stranded  int            // in flight past due plus grace
	Requeued  int            // put back on the send queue
	Resent    int            // ambiguous emails SendGrid never reported, sent again
	GaveUp    int            // stranded MaxSweeps times: failed for good
	Dead      map[string]int // dead-letter queue depths
	Conflicts int            // moved on while the sweep looked: left alone
	Fanning   int            // members of a campaign still fanning out: its next run carries them on
}

// Stuck lists the messages in flight past their due time plus grace, oldest first.
func (r *Reconciler) Stuck(ctx context.Context, now time.Time, grace time.Duration) ([]Stuck, error) {
	recs, err := r.Ledger.Stranded(ctx, now.Add(-grace))
	if err != nil {
		return nil, err
	}
	out := make([]Stuck, 0, len(recs))
	fanning := r.fanningOut()
	for _, rec := range recs {
		s := Stuck{Record: rec, Why: why(rec, now)}
		if id, ok := rec.Campaign(); ok {
			if s.Fanning, err = fanning(ctx, id); err != nil {
				return nil, err
			}
			if s.Fanning {
				s.Why = fmt.Sprintf("its campaign %s has not finished fanning out: the campaign's next run carries it on", id)
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Record.Due().Before(out[j].Record.Due()) })
	return out, nil
}

func why(rec *message.Record, now time.Time) string {
	age := now.Sub(rec.Due()).Round(time.Minute)
	switch rec.Status {
	case message.Queued:
		return fmt.Sprintf("queued %s ago and never claimed: its job was lost (the decision's run stopped, or the job is in a dead-letter queue)", age)
	case message.Retry:
		return fmt.Sprintf("a send failed %s ago (%s) and its job did not come back", age, rec.Reason)
	case message.Sending:
		return fmt.Sprintf("claimed by a sender that stopped: its lease ended %s ago", age)
	case message.Deferred:
		return fmt.Sprintf("deferred until %s ago (%s) and not released", age, rec.Reason)
	case message.Ambiguous:
		return fmt.Sprintf("the email's send timed out, and SendGrid had reported nothing by its recheck %s ago", age)
	}
	return string(rec.Status)
}

// Sweep puts the stranded messages back on the send queue (an ambiguous
// email SendGrid never reported becomes a retry first) and fails for good
// those stranded MaxSweeps times. It also reads the dead-letter queues'
// depth, and logs both with metrics.
func (r *Reconciler) Sweep(ctx context.Context, now time.Time) (*Report, error) {
	return r.sweep(ctx, now, r.grace())
}

// Recover sweeps with no grace: for a process whose queue lives in its
// memory (the local run), everything a previous process left in flight is
// stranded the moment it starts.
func (r *Reconciler) Recover(ctx context.Context, now time.Time) (*Report, error) {
	return r.sweep(ctx, now, 0)
}

func (r *Reconciler) sweep(ctx context.Context, now time.Time, grace time.Duration) (*Report, error) {
	stuck, err := r.Stuck(ctx, now, grace)
	if err != nil {
		return nil, err
	}
	rep := &Report{Stranded: len(stuck), Dead: map[string]int{}}
	var jobs []message.Job
	var errs []error
	// Jobs go out in chunks as they are marked, so a sweep cut short leaves
	// few messages marked requeued but not queued.
	flush := func() {
		if len(jobs) == 0 {
			return
		}
		if err := r.Queue.Enqueue(ctx, jobs...); err != nil {
			errs = append(errs, fmt.Errorf("requeue %d stranded messages: %w", len(jobs), err))
		} else {
			rep.Requeued += len(jobs)
		}
		jobs = jobs[:0]
	}
	for _, s := range stuck {
		if s.Fanning {
			// Its campaign's next run carries it on (in a multicast batch,
			// maybe): sent from here too, it could go twice.
			rep.Fanning++
			continue
		}
		job, requeue, err := r.sweepOne(ctx, s, now, rep)
		switch {
		case errors.Is(err, domain.ErrConflict):
			rep.Conflicts++
		case err != nil:
			errs = append(errs, err)
		case requeue:
			jobs = append(jobs, job)
		}
		if len(jobs) >= sweepChunk {
			flush()
		}
	}
	flush()
	for name, dl := range r.DeadLetters {
		n, err := dl.Depth(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("depth of %s: %w", name, err))
			continue
		}
		rep.Dead[name] = n
		r.metric(ctx, "DeadLetters", n, "Queue", name)
		if n > 0 {
			r.Logger().WarnContext(ctx, "jobs in a dead-letter queue; their messages are swept back from the ledger", "queue", name, "depth", n)
		}
	}
	r.metric(ctx, "StrandedMessages", rep.Stranded, "", "")
	r.Logger().InfoContext(ctx, "reconciled", "stranded", rep.Stranded, "requeued", rep.Requeued, "resent", rep.Resent,
		"gave_up", rep.GaveUp, "conflicts", rep.Conflicts)
	return rep, errors.Join(errs...)
}

// sweepChunk is how many requeued jobs are queued at once.
const sweepChunk = 100

// fanningOut says whether a campaign's runs still decide and multicast its
// members (it has not reached delivering), reading each campaign once.
func (r *Reconciler) fanningOut() func(ctx context.Context, id string) (bool, error) {
	seen := map[string]bool{}
	return func(ctx context.Context, id string) (bool, error) {
		if busy, ok := seen[id]; ok {
			return busy, nil
		}
		st, err := r.Ledger.CampaignState(ctx, id)
		if err != nil {
			return false, err
		}
		busy := st.Status == "" || st.Status == campaign.Scheduled || st.Status == campaign.Sending
		seen[id] = busy
		return busy, nil
	}
}

func (r *Reconciler) sweepOne(ctx context.Context, s Stuck, now time.Time, rep *Report) (message.Job, bool, error) {
	rec := s.Record
	job, ok := rec.InFlight()
	if !ok {
		return message.Job{}, false, nil
	}
	if rec.Status == message.Ambiguous {
		if !r.EmailEvents {
			return message.Job{}, false, nil // nothing can tell whether it went: it stays ambiguous, and counted
		}
		if err := r.Ledger.RetryAmbiguous(ctx, rec.Key, now, "no processed event from SendGrid: sent again"); err != nil {
			return message.Job{}, false, err
		}
		rep.Resent++
		return job, true, nil
	}
	if rec.Sweeps >= message.MaxSweeps {
		if err := r.Ledger.GiveUp(ctx, rec, now, fmt.Sprintf("stranded: put back on the send queue %d times, never settled (%s)",
			rec.Sweeps, s.Why)); err != nil {
			return message.Job{}, false, err
		}
		rep.GaveUp++
		r.Logger().WarnContext(ctx, "stranded message failed for good", "message_key", rec.Key, "status", rec.Status, "sweeps", rec.Sweeps)
		return message.Job{}, false, nil
	}
	if err := r.Ledger.Requeued(ctx, rec, now, true); err != nil {
		return message.Job{}, false, err
	}
	return job, true, nil
}

// Redrive puts messages in flight back on the send queue on purpose, due or
// not (an operator's call: after fixing a template, say). It returns how
// many it queued; settled messages are left alone.
func (r *Reconciler) Redrive(ctx context.Context, keys []message.Key) (int, error) {
	now := r.Now()
	var jobs []message.Job
	fanning := r.fanningOut()
	for _, key := range keys {
		rec, err := r.Ledger.Message(ctx, key)
		if err != nil {
			return 0, err
		}
		job, ok := rec.InFlight()
		if !ok {
			continue
		}
		if id, ok := rec.Campaign(); ok {
			busy, err := fanning(ctx, id)
			if err != nil {
				return 0, err
			}
			if busy {
				r.Logger().InfoContext(ctx, "not redriven: its campaign is still fanning out", "message_key", key, "campaign", id)
				continue
			}
		}
		if rec.Status == message.Ambiguous {
			err = r.Ledger.RetryAmbiguous(ctx, key, now, "redriven on purpose")
		} else {
			err = r.Ledger.Requeued(ctx, rec, now, false)
		}
		if errors.Is(err, domain.ErrConflict) {
			continue
		}
		if err != nil {
			return 0, err
		}
		jobs = append(jobs, job)
	}
	if len(jobs) == 0 {
		return 0, nil
	}
	return len(jobs), r.Queue.Enqueue(ctx, jobs...)
}

// metric logs a CloudWatch Embedded Metric Format line: Lambda's logs turn
// it into a metric in the daifuku namespace, with no API call.
func (r *Reconciler) metric(ctx context.Context, name string, value int, dimension, dimValue string) {
	dims := [][]string{{}}
	args := []any{"metric", name, name, value}
	if dimension != "" {
		dims = [][]string{{dimension}}
		args = append(args, dimension, dimValue)
	}
	emf := map[string]any{"Timestamp": r.Now().UnixMilli(), "CloudWatchMetrics": []any{map[string]any{
		"Namespace": "daifuku", "Dimensions": dims, "Metrics": []any{map[string]any{"Name": name, "Unit": "Count"}},
	}}}
	r.Logger().InfoContext(ctx, "metric", append(args, "_aws", emf)...)
}

func (r *Reconciler) grace() time.Duration {
	if r.Grace > 0 {
		return r.Grace
	}
	return DefaultGrace
}
