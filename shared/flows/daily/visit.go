package daily

import (
	"context"
	"slices"
	"time"

	"github.com/daifuku/daifuku/shared/domain/contentset"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/points"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

type visitResult struct {
	decisions     []Decision
	rankChanges   int
	lapsed        int
	pointsExpired int64
}

// visit decides today's messages for one customer and moves their next due
// date; a customer changed since it was read (an order, a webhook) is read
// again and visited afresh.
func (r *Runner) visit(ctx context.Context, c *customer.Customer, today plan.Day, now time.Time, dryRun, surprise bool) (res visitResult, err error) {
	first := true
	err = flow.RetryConflicts(ctx, func() error {
		if !first {
			if c, err = r.Ledger.Customer(ctx, c.ID); err != nil {
				return err
			}
		}
		first = false
		res, err = r.tryVisit(ctx, c, today, now, dryRun, surprise)
		return err
	})
	return res, err
}

// candidate is a message due for a customer today.
type candidate struct {
	job    message.Job
	record message.Record
}

func (r *Runner) tryVisit(ctx context.Context, c *customer.Customer, today plan.Day, now time.Time, dryRun, surprise bool) (visitResult, error) {
	var res visitResult
	c = clone(c)
	before := *c

	// 1. Lapse (and any other rank change the rules now see).
	if next := rank.Evaluate(r.Rules, c, now); next.String() != c.Rank {
		cause := "daily re-evaluation"
		if next.Lapsed && !rank.Parse(c.Rank).Lapsed {
			cause = "lapse"
			res.lapsed++
		}
		c.RankHistory = append(c.RankHistory, customer.RankChange{From: c.Rank, To: next.String(), At: now, Cause: cause})
		c.Rank, c.RankSince = next.String(), now
		res.rankChanges++
	}

	// 2. What is due: points past their last valid day expire (oldest
	// first, on the customer's date); plan steps on the customer's own
	// date, the birthday, and the reminder of points about to expire.
	loc := c.Location()
	local := plan.DayOf(now, loc)
	rk := rank.Parse(c.Rank)
	expired := r.expirePoints(c, local, now)
	for _, e := range expired {
		res.pointsExpired -= e.Points
	}
	var cands []candidate
	for _, d := range r.Plans.DueOn(c, r.dueFrom(before.NextDue, local), local) {
		cd := r.candidate(c, rk, d.Step.Kind, d.Key, now, d.Step.Template, d.Plan, d.Step.ID, d.Step.Channel, time.Time{})
		cd.job.Ask = d.Step.Ask
		// The plan's and the step's test: a stable share held out (recorded,
		// never sent, so the effect can be measured against them), the rest
		// split between variants.
		switch lot, why := r.Plans.Lot(c.ID, d); {
		case lot.HeldOut:
			cd.record.Status, cd.record.Reason = message.HeldOut, why
		case lot.Template != "":
			cd.job.Template, cd.record.Template, cd.record.Variant = lot.Template, lot.Template, lot.Template
		}
		cands = append(cands, cd)
	}
	if r.Plans.Birthday.Enabled && slices.Contains(BirthdayKeys(today), c.BirthdayMD) {
		key := message.NewKey(message.Birthday, c.ID, "birthday:"+today.String()[:4])
		cd := r.candidate(c, rk, message.Birthday, key, now, "", "", "", "", today.At(MorningHour, loc))
		cd.job.CouponCode, cd.job.CouponNote = r.Plans.Birthday.CouponCode, r.Plans.Birthday.CouponNote
		cands = append(cands, cd)
	}

	remind, reminding := r.pointsReminder(c, local)
	if reminding {
		key := message.NewKey(message.Points, c.ID, "points-expiry:"+remind)
		cands = append(cands, r.candidate(c, rk, message.Points, key, now, r.Points.ReminderTemplate, "", "", "", local.At(MorningHour, loc)))
	}

	if surprise {
		key := message.NewKey(message.Surprise, c.ID, "surprise:"+today.String()[:7])
		cd := r.candidate(c, rk, message.Surprise, key, now, "", "", "", "", time.Time{})
		cd.job.CouponCode, cd.job.CouponNote = r.Plans.Surprise.CouponCode, r.Plans.Surprise.CouponNote
		cands = append(cands, cd)
	}

	// The global control group hears nothing but thank-yous: every
	// decision is recorded held out, to measure the programme as a whole.
	// A topic the customer stopped is skipped here, so it takes no place
	// under the cap from what they still want.
	for i := range cands {
		if r.Policy.InControlGroup(c.ID) {
			cands[i].record.Status, cands[i].record.Reason = message.HeldOut, "in the global control group"
		} else if stop, why := r.Policy.Topics.Stops(c, cands[i].job.Kind); stop && cands[i].record.Status == message.Queued {
			cands[i].record.Status, cands[i].record.Reason = message.Skipped, why
		}
	}

	// 3. The frequency cap, most important first, over the messages that
	// would go (one held out takes no place).
	var (
		going []int
		sends map[string]customer.CapSend // what counts against the cap
	)
	for i, cd := range cands {
		if cd.record.Status == message.Queued {
			going = append(going, i)
		}
	}
	if len(going) > 0 {
		capped := make([]candidate, len(going))
		for j, i := range going {
			capped[j] = cands[i]
		}
		var decided []delivery.Decision
		var err error
		if sends, decided, err = r.applyCap(ctx, c, capped, now); err != nil {
			return res, err
		}
		for j, i := range going {
			if !decided[j].Allowed {
				cands[i].record.Status, cands[i].record.Reason = message.Suppressed, decided[j].Reason
			}
		}
	}

	// 4. Record and queue.
	for _, cd := range cands {
		d := Decision{CustomerID: c.ID, Kind: cd.job.Kind, Plan: cd.job.Plan, Step: cd.job.Step, Template: cd.job.Template,
			Key: cd.job.Key, Status: cd.record.Status, Reason: cd.record.Reason, NotBefore: cd.job.NotBefore}
		if !dryRun {
			status, err := r.record(ctx, cd, sends)
			if err != nil {
				return res, err
			}
			d.Status = status
			if status == message.Queued && d.Kind == message.Surprise {
				c.LastSurpriseAt = now
			}
			if d.Kind == message.Points && reminding {
				// Decided (sent, suppressed or skipped): one reminder per expiry.
				c.Points.RemindedFor = remind
				r.Points.Settle(&c.Points)
			}
		}
		res.decisions = append(res.decisions, d)
	}

	// 5. When to look again.
	c.NextDue = r.Plans.NextVisit(r.Rules, c, now.Add(24*time.Hour))
	if dryRun || (c.Rank == before.Rank && c.NextDue == before.NextDue && c.LastSurpriseAt.Equal(before.LastSurpriseAt) &&
		len(expired) == 0 && c.Points.RemindedFor == before.Points.RemindedFor) {
		return res, nil
	}
	if len(expired) > 0 {
		// The lots go with their expire entries, together: a repeated run finds them gone.
		if err := r.Ledger.CommitPoints(ctx, c, expired...); err != nil {
			return res, err
		}
	} else if err := r.Ledger.SaveCustomer(ctx, c); err != nil {
		return res, err
	}
	if c.Rank != before.Rank {
		// The report's count of it; the move itself is saved whatever happens here.
		move := c.RankHistory[len(c.RankHistory)-1]
		if err := flow.CountRankMove(ctx, r.Ledger, r.Rules, c.ID, move, flow.TouchesBefore(ctx, r.Ledger, r.Policy.Attribution, c.ID, move.At)); err != nil {
			r.Logger().WarnContext(ctx, "rank move not counted in the report", "customer_id", c.ID, "error", err)
		}
	}
	return res, nil
}

// dueFrom is the first date whose steps this visit decides: the day the
// customer was due (steps before it were decided by earlier visits), but no
// further back than the catch-up window. A customer here only for their
// birthday has no steps due but today's.
func (r *Runner) dueFrom(nextDue string, local plan.Day) plan.Day {
	due, err := plan.ParseDay(nextDue)
	if err != nil {
		return local
	}
	if oldest := local.AddDays(-r.catchUp()); due.Before(oldest) {
		return oldest
	}
	return due
}

func (r *Runner) candidate(c *customer.Customer, rk rank.Rank, kind message.Kind, key message.Key, now time.Time,
	template, planName, step string, ch customer.Channel, notBefore time.Time) candidate {
	if notBefore.Before(now) {
		notBefore = time.Time{}
	}
	job := message.Job{Key: key, Kind: kind, CustomerID: c.ID, Rank: rk.String(), QueuedAt: now, Template: template,
		Channel: ch, Plan: planName, Step: step, NotBefore: notBefore}
	if planName != "" {
		job.PlanVersion = r.Plans.Version
	}
	rec := message.Record{Key: key, Kind: kind, CustomerID: c.ID, Rank: rk.String(), Template: template,
		Plan: planName, PlanVersion: job.PlanVersion, Step: step, Status: message.Queued,
		CreatedAt: now, UpdatedAt: now, NotBefore: notBefore, Job: &job}
	return candidate{job: job, record: rec}
}

// applyCap weighs today's candidates against what the customer received in
// the cap's window, as their record says (messages decided by an earlier run
// of today excluded, so a re-run decides the same). It returns the record too:
// recording a message that counts adds to it.
func (r *Runner) applyCap(ctx context.Context, c *customer.Customer, cands []candidate, now time.Time) (map[string]customer.CapSend, []delivery.Decision, error) {
	sends, err := flow.CapSends(ctx, r.Ledger, c, r.Policy, now)
	if err != nil {
		return nil, nil, err
	}
	deciding := map[message.Key]bool{}
	kinds := make([]message.Kind, len(cands))
	for i, cd := range cands {
		deciding[cd.job.Key] = true
		kinds[i] = cd.job.Kind
	}
	recent := delivery.RecentSends(sends, func(k message.Key) bool { return deciding[k] })
	return sends, r.Policy.CapFor(c).ApplyCap(recent, kinds, now), nil
}

// record writes the decision unless a previous run made it (and with it,
// its place in the customer's record of what counts against the cap, sends),
// and queues it while it is pending. It returns the new decision's status,
// or "" when an earlier run decided.
func (r *Runner) record(ctx context.Context, cd candidate, sends map[string]customer.CapSend) (message.Status, error) {
	cd.record.Job = &cd.job // as finally decided (with its coupon), so a release sends the same
	cd.record.TemplateFolderVersion = contentset.FolderVersion(r.ContentFiles, cd.job.Template)
	onRecord, created, err := flow.Decide(ctx, r.Ledger, cd.record, r.Policy.CapChange(sends, cd.record))
	if err != nil {
		return "", err
	}
	if job, ok := onRecord.Pending(); ok {
		if err := r.Queue.Enqueue(ctx, job); err != nil {
			return "", err
		}
	}
	if !created {
		return "", nil
	}
	return onRecord.Status, nil
}

func clone(c *customer.Customer) *customer.Customer {
	cp := *c
	cp.RankHistory = slices.Clone(c.RankHistory)
	cp.Points.Lots = slices.Clone(c.Points.Lots)
	return &cp
}

// expirePoints takes the customer's points past their last valid day (their
// date today) off the card and returns the expire entries. Without a points
// card it forgets the card's dates, so they bring no daily visits.
func (r *Runner) expirePoints(c *customer.Customer, local plan.Day, now time.Time) []points.Entry {
	if r.Points == nil {
		c.Points.ExpireOn, c.Points.RemindOn = "", ""
		return nil
	}
	return r.Points.ExpireOn(c, local, now)
}

// pointsReminder says whether the reminder of the customer's next expiry is
// due on their date today, and names that expiry (the lot's last valid day).
func (r *Runner) pointsReminder(c *customer.Customer, local plan.Day) (until string, due bool) {
	p := c.Points
	today := local.String()
	if r.Points == nil || p.RemindOn == "" || today < p.RemindOn || len(p.Lots) == 0 || today >= p.ExpireOn {
		return "", false
	}
	return p.Lots[0].Until, true
}
