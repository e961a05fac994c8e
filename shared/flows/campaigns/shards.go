package campaigns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/render"
)

// ShardQueue carries shards to the fan-out workers (SQS in AWS).
type ShardQueue interface {
	EnqueueShards(ctx context.Context, shards ...campaign.Shard) error
}

// DefaultShardSize bounds the customers one shard decides: a few seconds of
// work and a few megabytes in a fan-out Lambda.
const DefaultShardSize = 1000

// MaxSegments bounds the parallel Scan of a campaign to everyone: each
// segment is a chain of pages, read one after another.
const MaxSegments = 64

// RetryKeyLife is how long LINE keeps a multicast's X-Line-Retry-Key, less
// an hour's margin for clocks and the request in flight: a batch first
// attempted longer ago than this may have been delivered without LINE
// remembering it, so it is never sent again.
const RetryKeyLife = 23 * time.Hour

// memQueue is the shards of a run that decides them itself, one after another.
type memQueue struct{ todo []campaign.Shard }

func (q *memQueue) EnqueueShards(_ context.Context, shards ...campaign.Shard) error {
	q.todo = append(q.todo, shards...)
	return nil
}

func (r *Runner) shardSize() int {
	if r.ShardSize > 0 {
		return r.ShardSize
	}
	return DefaultShardSize
}

// stageOf names the stage a run fans out.
func stageOf(early bool, w Wave) string {
	switch {
	case early:
		return campaign.StageEarly
	case w == WaveTest:
		return campaign.StageTest
	case w == WaveWinner:
		return campaign.StageWinner
	}
	return campaign.StageMain
}

// firstShards are where a stage's audience starts: a page of each of its
// ranks (the early wave's, or a rank audience's), of each of its tags, or
// of each segment of a parallel Scan of the ledger, as many segments as
// its size asks for.
func (r *Runner) firstShards(ctx context.Context, c campaign.Campaign, stage string) ([]campaign.Shard, error) {
	base := campaign.Shard{CampaignID: c.ID, Stage: stage, Def: c.Fingerprint()}
	var out []campaign.Shard
	add := func(source, part string) {
		sh := base
		sh.Source, sh.Part = source, part
		out = append(out, sh)
	}
	switch {
	case stage == campaign.StageEarly:
		for _, rk := range c.EarlyRanks() {
			if len(c.Audience.Ranks) == 0 || slices.Contains(c.Audience.Ranks, rk) {
				add(campaign.FromRank, rk)
			}
		}
	case len(c.Audience.Ranks) > 0:
		for _, rk := range c.Audience.Ranks {
			add(campaign.FromRank, rk)
		}
	case !c.Audience.All:
		for _, t := range c.Audience.Tags {
			add(campaign.FromTag, t)
		}
	default:
		n, err := r.Ledger.CustomerCount(ctx)
		if err != nil {
			return nil, err
		}
		segments := min(max(1, (n+10*r.shardSize()-1)/(10*r.shardSize())), MaxSegments)
		for i := range segments {
			sh := base
			sh.Source, sh.Segment, sh.Segments = campaign.FromScan, i, segments
			out = append(out, sh)
		}
	}
	return out, nil
}

// members keeps the customers of a shard's page who belong to its stage:
// an early wave's tag audience, a test's share, and for a customer with two
// of the audience's tags, only the shard of the first (so one shard
// decides each customer).
func (r *Runner) members(c campaign.Campaign, sh campaign.Shard, wave Wave, cs []*customer.Customer) []*customer.Customer {
	tagged := func(cust *customer.Customer) bool {
		return c.Audience.All || slices.ContainsFunc(c.Audience.Tags, func(t string) bool { return slices.Contains(cust.Tags, t) })
	}
	out := slices.DeleteFunc(cs, func(cust *customer.Customer) bool {
		switch {
		case sh.Source == campaign.FromTag:
			for _, t := range c.Audience.Tags {
				if t == sh.Part {
					break
				}
				if slices.Contains(cust.Tags, t) {
					return true // an earlier tag's shard decides them
				}
			}
		case sh.Stage == campaign.StageEarly && len(c.Audience.Ranks) == 0 && !tagged(cust):
			return true
		}
		return wave == WaveTest && !c.Test.Includes(cust.ID, c.Unit())
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// DecideShard decides one shard of a campaign, taken off the fan-out queue:
// its page of customers, the multicasts of their identical LINE content,
// and the jobs of the rest for the sender. A shard decided again (SQS
// delivers at least once) decides nobody twice and counts once; the last
// shard of a stage finishes the stage.
func (r *Runner) DecideShard(ctx context.Context, sh campaign.Shard) (*Report, error) {
	q := r.Shards
	if q == nil {
		q = &memQueue{}
	}
	if err := sh.Validate(); err != nil {
		return &Report{Campaign: sh.CampaignID}, err
	}
	c, err := r.Find(ctx, sh.CampaignID)
	if errors.Is(err, domain.ErrNotFound) {
		r.Logger().WarnContext(ctx, "shard of an unknown campaign: dropped", "campaign", sh.CampaignID, "shard", sh.ID())
		return &Report{Campaign: sh.CampaignID}, nil
	}
	if err != nil {
		return &Report{Campaign: sh.CampaignID}, err
	}
	return r.decideShard(ctx, c, sh, q, r.Now())
}

// decideShard decides a shard of c (as the run that planned it knows it, or
// as the ledger and campaigns.yaml define it now).
func (r *Runner) decideShard(ctx context.Context, c campaign.Campaign, sh campaign.Shard, q ShardQueue, now time.Time) (*Report, error) {
	rep := &Report{Campaign: sh.CampaignID}
	log := r.Logger().With("campaign", sh.CampaignID, "shard", sh.ID())
	st, err := r.Ledger.CampaignState(ctx, c.ID)
	if err != nil {
		return rep, err
	}
	switch {
	case st.Status == campaign.Cancelled || st.Status == campaign.Stopped:
		log.InfoContext(ctx, "shard stopped", "status", st.Status)
		return rep, r.Ledger.StopShard(ctx, sh, "campaign "+string(st.Status))
	case st.Status != campaign.Sending || st.Stage != sh.Stage:
		log.InfoContext(ctx, "shard of a stage no longer sending: nothing to do", "status", st.Status, "stage", st.Stage)
		return rep, nil
	case c.Fingerprint() != sh.Def:
		why := "edited while sending: the shards left stopped rather than send two versions; `daifuku campaign resume " + c.ID + "` sends the edited one to those not reached yet"
		log.WarnContext(ctx, "campaign edited while sending: stopped")
		return rep, errors.Join(r.Ledger.StopCampaign(ctx, c.ID, now, why), r.Ledger.StopShard(ctx, sh, "campaign edited"))
	}
	rec, ok, err := r.Ledger.BeginShard(ctx, sh)
	switch {
	case err != nil:
		return rep, err
	case !ok:
		log.WarnContext(ctx, "shard not planned by any run: dropped")
		return rep, nil
	case rec.Status == campaign.ShardDone:
		return rep, r.finishStage(ctx, c, sh.Stage, now) // done before: its stage may be left to finish
	}
	switch sh.Stage {
	case campaign.StageEarly:
		rep.Early = c.EarlyRanks()
	case campaign.StageTest:
		rep.Wave = WaveTest
	case campaign.StageWinner:
		rep.Wave, rep.Winner = WaveWinner, st.Winner
		if st.Winner == nil {
			return rep, fmt.Errorf("campaign %s: the winner's shard %s found no winner kept", c.ID, sh.ID())
		}
	}

	cs, last, more, read, err := r.Ledger.AudiencePage(ctx, sh, r.shardSize(), rec.Through)
	rep.ItemsRead += read
	if err != nil {
		return rep, r.shardFailed(ctx, sh, err)
	}
	// The next page is queued before this one is decided: the pages of a
	// source are read one after another, but decided side by side.
	if more {
		rec.Through = last
		if err := r.Ledger.AddNextShard(ctx, rec, sh.Next(last)); err != nil {
			return rep, r.shardFailed(ctx, sh, err)
		}
	}
	if rec.Through != "" && !rec.NextQueued {
		if err := q.EnqueueShards(ctx, sh.Next(rec.Through)); err != nil {
			return rep, r.shardFailed(ctx, sh, err)
		}
		if err := r.Ledger.NextShardQueued(ctx, sh); err != nil {
			return rep, r.shardFailed(ctx, sh, err)
		}
	}
	decided, err := r.decidePage(ctx, c, sh, r.members(c, sh, rep.Wave, cs), now, rep)
	if err != nil {
		return rep, r.shardFailed(ctx, sh, err)
	}
	counts := rep.counts()
	counts["items_read"], counts["line_requests"] = rep.ItemsRead, rep.Batches+rep.Push
	counting, err := r.Ledger.ShardDone(ctx, sh, counts, decided, now.Add(Lease))
	if err != nil || !counting {
		return rep, err
	}
	return rep, r.finishStage(ctx, c, sh.Stage, now)
}

// shardFailed notes why an attempt at a shard failed, for the campaign's
// status, and returns the error: the queue tries the shard again, and after
// its last try keeps it in the dead-letter queue.
func (r *Runner) shardFailed(ctx context.Context, sh campaign.Shard, err error) error {
	return errors.Join(err, r.Ledger.ShardFailed(ctx, sh, firstLine(err)))
}

// counts are a report's figures as a campaign keeps them.
func (rep *Report) counts() map[string]int {
	return map[string]int{
		"audience": rep.Audience, "email": rep.Email, "line_push": rep.Push, "line_multicast": rep.Multicast,
		"skipped": rep.Skipped, "suppressed": rep.Suppressed, "held_out": rep.HeldOut, "line_handed_to_sender": rep.Handed,
		"earlier": rep.Earlier, "quota_email": rep.QuotaEmail, "quota_held": rep.QuotaHeld, "batches": rep.Batches,
	}
}

// add sums a shard's report into a run's.
func (rep *Report) add(o *Report) {
	rep.Audience += o.Audience
	rep.Email += o.Email
	rep.Push += o.Push
	rep.Multicast += o.Multicast
	rep.Batches += o.Batches
	rep.Skipped += o.Skipped
	rep.Suppressed += o.Suppressed
	rep.HeldOut += o.HeldOut
	rep.Earlier += o.Earlier
	rep.Handed += o.Handed
	rep.QuotaEmail += o.QuotaEmail
	rep.QuotaHeld += o.QuotaHeld
	rep.ItemsRead += o.ItemsRead
	rep.LINERequests += o.Batches + o.Push
	rep.Recipients = append(rep.Recipients, o.Recipients...)
	if o.Winner != nil {
		rep.Winner = o.Winner
	}
}

// finishStage ends a stage once its every shard is done: the campaign is
// delivering (or its early wave or test share went out), with the counts
// its shards added up.
func (r *Runner) finishStage(ctx context.Context, c campaign.Campaign, stage string, now time.Time) error {
	st, err := r.Ledger.CampaignState(ctx, c.ID)
	if err != nil {
		return err
	}
	if st.Status != campaign.Sending || st.Stage != stage || !st.Fan.Finished() {
		return nil
	}
	counts := map[string]int{}
	for _, k := range []string{"audience", "email", "line_push", "line_multicast", "skipped", "suppressed", "held_out", "line_handed_to_sender"} {
		counts[k] = st.Fan.Counts[k]
	}
	next := campaign.State{Status: campaign.Delivering, FinishedAt: now, Counts: counts}
	switch stage {
	case campaign.StageEarly:
		next.Status, next.EarlyCounts = campaign.EarlySent, counts
	case campaign.StageTest:
		// Not delivering yet: the rest waits for the winner, so the campaign
		// cannot be complete (Complete looks at delivering ones only).
		next.Status, next.TestCounts = campaign.Testing, counts
	}
	done, err := r.Ledger.FinishCampaign(ctx, c.ID, next)
	if err != nil || !done {
		return err
	}
	r.Logger().InfoContext(ctx, "campaign fanned out", "campaign", c.ID, "status", next.Status, "stage", stage, "shards", st.Fan.Total,
		"audience", counts["audience"], "email", counts["email"], "line_push", counts["line_push"], "line_multicast", counts["line_multicast"],
		"batches", st.Fan.Counts["batches"], "skipped", counts["skipped"], "suppressed", counts["suppressed"], "items_read", st.Fan.Counts["items_read"])
	return nil
}

// decidePage decides a shard's customers: each one's record, then the
// multicasts of identical LINE content, and the sender's jobs. It returns
// the records the shard is to count.
func (r *Runner) decidePage(ctx context.Context, c campaign.Campaign, sh campaign.Shard, audience []*customer.Customer, now time.Time,
	rep *Report) ([]message.Record, error) {
	rep.Audience = len(audience)
	pause, err := r.Pauses.Of(ctx, customer.LINE, now)
	if err != nil {
		return nil, err
	}
	linePaused := pause.Active(now)
	over, err := r.overQuotaOf(ctx, c, sh, audience)
	if err != nil {
		return nil, err
	}
	var voices []render.Voice
	if r.Voices != nil && slices.ContainsFunc(c.TemplateDirs(), r.Templates.UsesVoices) {
		if voices, err = r.Voices.Quotes(ctx); err != nil {
			return nil, err
		}
	}
	var (
		mu      sync.Mutex
		jobs    []message.Job
		waiting []pending
		decided []message.Record
		errs    []error
		pool    errgroup.Group
	)
	pool.SetLimit(r.workers())
	for _, cust := range audience {
		pool.Go(func() error {
			job, p, err := r.decide(ctx, c, sh.ID(), cust, now, linePaused, over[cust.ID], voices, rep, &mu, &decided)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("customer %s: %w", cust.ID, err))
			case p != nil:
				waiting = append(waiting, *p)
			case job != nil:
				jobs = append(jobs, *job)
			}
			return nil
		})
	}
	_ = pool.Wait() // every error is in errs

	// What was decided goes out whatever happened to the rest: emails and
	// pushes to the sender, batches to LINE.
	batches, singles, err := r.batch(ctx, c, sh.ID(), waiting)
	if err != nil {
		errs = append(errs, err)
	}
	jobs = append(jobs, singles...)
	for _, j := range jobs {
		if j.Channel == customer.Email {
			rep.Email++
		} else {
			rep.Push++
		}
	}
	if err := r.Queue.Enqueue(ctx, jobs...); err != nil {
		errs = append(errs, err)
	}
	if err := r.sendBatches(ctx, batches, now, rep); err != nil {
		errs = append(errs, err)
	}
	return decided, errors.Join(errs...)
}

// overQuotaOf says which of a shard's customers do not fit in this month's
// LINE quota, as the stage's plan set it aside: a rank it does not name
// fits whole, a rank at 0 not at all, and a rank at the boundary gets what
// is left of its allowance, shard by shard, in id order. Under line_quota:
// email, a limited rank's customers who agreed to email go by email, and
// its allowance to those LINE alone reaches, so fewer wait for next month.
func (r *Runner) overQuotaOf(ctx context.Context, c campaign.Campaign, sh campaign.Shard, audience []*customer.Customer) (map[string]bool, error) {
	if sh.LINEAllowance == nil {
		return nil, nil
	}
	byRank := map[string][]string{}
	over := map[string]bool{}
	for _, cust := range audience {
		tpl := c.TemplateFor(rank.Parse(cust.Rank))
		if ch, _ := delivery.Choose(cust, "", r.available(tpl)); ch != customer.LINE {
			continue
		}
		if _, limited := sh.LINEAllowance[cust.Rank]; !limited {
			continue
		}
		if ch, _ := delivery.Choose(cust, customer.Email, r.available(tpl)); ch == customer.Email && r.Policy.LINEQuota == delivery.ByEmail {
			over[cust.ID] = true // by email: LINE's last places go to those it alone reaches
			continue
		}
		byRank[cust.Rank] = append(byRank[cust.Rank], cust.ID)
	}
	for rk, ids := range byRank {
		allowance := sh.LINEAllowance[rk]
		granted := 0
		if allowance > 0 {
			var err error
			if granted, err = r.Ledger.ReserveQuota(ctx, sh, rk, len(ids), allowance); err != nil {
				return nil, err
			}
		}
		for _, id := range ids[min(granted, len(ids)):] {
			over[id] = true
		}
	}
	return over, nil
}

// Cancel stops a campaign for good: shards still queued decide nobody,
// hourly runs leave it, and the senders skip its newsletters still queued.
// What LINE took in a multicast before is out.
func (r *Runner) Cancel(ctx context.Context, id string, now time.Time) error {
	if _, err := r.Find(ctx, id); err != nil {
		return err
	}
	if err := r.Ledger.CancelCampaign(ctx, id, now); err != nil {
		return err
	}
	r.Logger().InfoContext(ctx, "campaign cancelled", "campaign", id)
	return nil
}
