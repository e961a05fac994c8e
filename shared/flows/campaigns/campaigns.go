// Package campaigns sends newsletters (メールマガジン): it fans a campaign out
// to its audience in parallel, records each customer's decision, multicasts
// identical LINE content 500 friends a request, and queues the rest for the
// sender. A crash half-way and a re-run finish the campaign without sending
// anyone a second copy.
package campaigns

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/contentset"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/domain/report"
	"github.com/daifuku/daifuku/shared/domain/stats"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// Ledger is what a fan-out reads and writes.
type Ledger interface {
	// AudiencePage reads a shard's page of customers (see dynamo.Store).
	AudiencePage(ctx context.Context, sh campaign.Shard, limit int, through string) (cs []*customer.Customer, last string, more bool, read int, err error)
	CustomerCount(ctx context.Context) (int, error)
	MessagesSince(ctx context.Context, customerID string, since time.Time) ([]*message.Record, error)
	CreateMessage(ctx context.Context, r message.Record, capped delivery.CapChange) (bool, error)
	Message(ctx context.Context, key message.Key) (*message.Record, error)
	// Campaigns are those not sent yet (created at run time), and the states
	// of those and of the defined ones named.
	Campaigns(ctx context.Context, defined ...string) ([]campaign.Campaign, map[string]campaign.State, error)
	CampaignDef(ctx context.Context, id string) (campaign.Campaign, bool, error)
	LockCampaign(ctx context.Context, id, holder string, now, lease time.Time, early, force bool) error
	CampaignState(ctx context.Context, id string) (campaign.State, error)
	CampaignProgress(ctx context.Context, id string) (campaign.Tally, error)
	FinishCampaign(ctx context.Context, id string, st campaign.State) (bool, error)
	CampaignFailed(ctx context.Context, id string, at time.Time, reason string) error
	CancelCampaign(ctx context.Context, id string, at time.Time) error
	StopCampaign(ctx context.Context, id string, at time.Time, why string) error
	// The shards of a campaign's stage.
	PlanShards(ctx context.Context, id, stage string, first []campaign.Shard) ([]campaign.ShardRecord, error)
	AddNextShard(ctx context.Context, parent campaign.ShardRecord, next campaign.Shard) error
	NextShardQueued(ctx context.Context, sh campaign.Shard) error
	BeginShard(ctx context.Context, sh campaign.Shard) (campaign.ShardRecord, bool, error)
	ShardDone(ctx context.Context, sh campaign.Shard, counts map[string]int, decided []message.Record, lease time.Time) (bool, error)
	StopShard(ctx context.Context, sh campaign.Shard, why string) error
	ShardFailed(ctx context.Context, sh campaign.Shard, reason string) error
	MissingShards(ctx context.Context, id, stage string) ([]campaign.ShardRecord, error)
	ReserveQuota(ctx context.Context, sh campaign.Shard, rank string, want, allowance int) (int, error)
	// The multicast batches of a shard.
	Batches(ctx context.Context, id, shard string) ([]*campaign.Batch, error)
	CreateBatch(ctx context.Context, b *campaign.Batch) error
	BatchAttempted(ctx context.Context, b *campaign.Batch, at time.Time) (time.Time, error)
	BatchSent(ctx context.Context, b *campaign.Batch, providerID string, at time.Time) error
	BatchUnconfirmed(ctx context.Context, b *campaign.Batch, at time.Time, why string) error
	HandBatchOver(ctx context.Context, b *campaign.Batch, at time.Time) error
	BatchFailed(ctx context.Context, b *campaign.Batch, at time.Time) (attempts int, err error)
	// DecideWinner keeps a test's winner, or returns the one kept before.
	DecideWinner(ctx context.Context, id string, w campaign.Winner) (campaign.Winner, error)
	// ReportRows reads a month's report counters: how a test's variants did.
	ReportRows(ctx context.Context, month string) (map[string]report.Counters, int, error)
}

// Multicaster sends one LINE message to many friends in one request.
type Multicaster interface {
	Multicast(ctx context.Context, to []string, msg *render.LINE, retryKey string) (delivery.Receipt, error)
}

// Voices gives the comments customers agreed to publish, for templates that quote them.
type Voices interface {
	Quotes(ctx context.Context) ([]render.Voice, error)
}

// Queue hands per-customer jobs (email, personalised LINE) to the sender.
type Queue interface {
	Enqueue(ctx context.Context, jobs ...message.Job) error
}

// Runner sends campaigns.
type Runner struct {
	flow.Env
	Ledger    Ledger
	Queue     Queue
	LINE      Multicaster // nil: every LINE message goes through the sender, one push each
	Templates *render.Library
	Rules     *rank.Rules
	Policy    delivery.Policy
	Shop      render.Shop
	Defined   []campaign.Campaign // from templates/campaigns.yaml
	Limit     *delivery.Limiter
	// Pauses are the channels paused for everyone (LINE's monthly quota):
	// no multicast goes out while LINE is paused.
	Pauses *flow.Pauses
	// Voices feeds templates that quote customer voice; nil: none quoted.
	Voices  Voices
	Sleep   delivery.Sleeper
	Workers int
	// HasLINE and HasEmail say which providers are configured.
	HasLINE, HasEmail bool
	// Holder names this run in a campaign's lease, so a second run can say
	// who holds it (a host and process, a Lambda log stream).
	Holder string
	// ContentRevision is the published content revision the templates are,
	// and ContentFiles its file versions; each multicast message records them.
	ContentRevision int
	ContentFiles    map[string]int
	// Quotas reads LINE's monthly quota before a run; nil: not read.
	Quotas Quotas
	// Shards queues a campaign's shards for the fan-out workers; nil: the
	// run decides them itself, one after another (the local run, tests).
	Shards ShardQueue
	// ShardSize bounds the customers of one shard (0: DefaultShardSize).
	ShardSize int
}

// Lease is how long a run holds a campaign; a run that dies is taken over after it.
const Lease = 15 * time.Minute

// MaxBatchAttempts is how many runs try a multicast batch LINE failed to
// answer before its members go to the sender one by one.
const MaxBatchAttempts = 3

// firstLine is an error's first line, for a campaign's state.
func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// batchSize is LINE's multicast limit.
const batchSize = 500

// Report is what sending a campaign did.
type Report struct {
	Campaign   string
	Audience   int // customers considered
	Email      int // email jobs queued for the sender
	Push       int // personalised LINE messages queued for the sender
	Multicast  int // LINE friends reached by multicast
	Batches    int // multicast requests sent by this run
	Skipped    int // no usable channel (opt-out, blocked, bounced)
	Suppressed int // frequency cap
	HeldOut    int // the campaign's holdout, or the global control group
	Earlier    int // decided by an earlier run
	Handed     int // LINE friends whose batch LINE refused whole (quota): sent one by one by the sender, or deferred
	// Over LINE's monthly quota: those sent by email instead, and those
	// held for next month's quota.
	QuotaEmail, QuotaHeld int
	Quota                 *QuotaFit // nil: the quota was not read
	ItemsRead             int
	LINERequests          int      // multicast requests plus pushes
	Recipients            []string // customer ids decided by this run
	// Shards counts the shards this run queued (or decided itself).
	Shards int
	// Early names the ranks of an early wave (sent before everyone else); nil for the main wave.
	Early []string
	// Wave is WaveTest when the run sent a test's variants to its share,
	// WaveWinner when it sent the winner to the rest; "" otherwise.
	Wave Wave
	// Winner is the test's decision, on a WaveWinner run.
	Winner *campaign.Winner
	// Busy says the campaign was not sent by this run because another holds it.
	Busy *campaign.BusyError
}

// Wave is the part of a tested campaign a run sends.
type Wave string

// The waves of a campaign that tests first.
const (
	WaveTest   Wave = "test"   // the variants, to the test share
	WaveWinner Wave = "winner" // the winner, to everyone else
)

// SendDue sends every campaign whose time has come and that was not sent:
// the early wave once its early access began, everyone else at send_at; a
// campaign that tests first sends its test share at send_at and the winner
// to the rest at the first hourly run after the test's time is up.
func (r *Runner) SendDue(ctx context.Context, now time.Time) ([]*Report, error) {
	ids := make([]string, len(r.Defined))
	for i, c := range r.Defined {
		ids[i] = c.ID
	}
	stored, states, err := r.Ledger.Campaigns(ctx, ids...)
	if err != nil {
		return nil, err
	}
	var reps []*Report
	var errs []error
	for _, c := range append(slices.Clone(r.Defined), stored...) {
		state := states[c.ID]
		st := state.Status
		switch {
		case st == campaign.Sent, st == campaign.Delivering, st == campaign.Cancelled, st == campaign.Stopped, c.EarlyAt().After(now), c.SendAt.After(now) && st == campaign.EarlySent,
			st == campaign.Testing && state.WinnerDue(&c).After(now):
			continue
		}
		rep, err := r.Send(ctx, c, now)
		var busy *campaign.BusyError
		switch {
		case errors.As(err, &busy) && busy.Status == campaign.Sending:
			reps = append(reps, &Report{Campaign: c.ID, Busy: busy}) // said, not hidden
		case errors.Is(err, campaign.ErrBusy):
		case err != nil:
			errs = append(errs, err)
		default:
			reps = append(reps, rep)
		}
	}
	return reps, errors.Join(errs...)
}

// pending is a LINE recipient waiting for a multicast batch.
type pending struct {
	member  campaign.Member
	content render.LINE
	tpl     string      // the rendered template, e.g. newsletter/2026-winter-default/line
	job     message.Job // how the sender would send it alone
	// carried: decided by an earlier run, which may have queued it for the
	// sender; it joins no new batch, so it cannot go both ways (it has no
	// content of its own).
	carried bool
}

// Send fans a campaign out. It can be run again after a crash: customers
// decided before are not decided again, batches recorded before are sent
// again as they were (LINE's retry key makes that safe), and the rest goes on.
//
// Before send_at, only the early wave goes: the customers of the campaign's
// early ranks. At send_at everyone else does; those the early wave reached
// are decided already and get nothing twice.
func (r *Runner) Send(ctx context.Context, c campaign.Campaign, now time.Time) (*Report, error) {
	return r.send(ctx, c, now, false)
}

// Resume sends a campaign whose lease is held by a run known to be gone,
// taking the lease over: the decisions and batches that run recorded are
// kept, and nobody gets a second copy (LINE's retry key, the sender's claim).
func (r *Runner) Resume(ctx context.Context, c campaign.Campaign, now time.Time) (*Report, error) {
	return r.send(ctx, c, now, true)
}

func (r *Runner) send(ctx context.Context, c campaign.Campaign, now time.Time, force bool) (*Report, error) {
	early := now.Before(c.SendAt)
	if early && len(c.EarlyRanks()) == 0 {
		return nil, fmt.Errorf("campaign %s: not due before %s", c.ID, c.SendAt.Format(time.RFC3339))
	}
	if c.Test != nil && !early {
		// The winner waits for the test's time, even for a run asked by hand.
		st, err := r.Ledger.CampaignState(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		if due := st.WinnerDue(&c); st.Status == campaign.Testing && due.After(now) {
			return nil, &campaign.BusyError{ID: c.ID, Status: campaign.Testing, Until: due}
		}
	}
	if err := r.Ledger.LockCampaign(ctx, c.ID, r.holder(), now, now.Add(Lease), early, force); err != nil {
		return nil, err
	}
	rep := &Report{Campaign: c.ID}
	if early {
		rep.Early = c.EarlyRanks()
	}
	if c.Test != nil && !early {
		// Which wave is read under the lease: a run that took a failed one
		// over carries on with the wave it was in.
		st, err := r.Ledger.CampaignState(ctx, c.ID)
		if err != nil {
			return nil, r.failed(ctx, c.ID, now, err)
		}
		rep.Wave = WaveTest
		if !st.TestSentAt.IsZero() {
			rep.Wave = WaveWinner
			if rep.Winner, err = r.winner(ctx, c, st, now); err != nil {
				return nil, r.failed(ctx, c.ID, now, err)
			}
		}
	}
	stage := stageOf(early, rep.Wave)
	first, err := r.firstShards(ctx, c, stage)
	if err != nil {
		return nil, r.failed(ctx, c.ID, now, err)
	}
	var allowance map[string]int
	if rep.Quota, allowance, err = r.quotaPlan(ctx, c, first, rep.Wave, now); err != nil {
		return nil, r.failed(ctx, c.ID, now, err)
	}
	for i := range first {
		first[i].LINEAllowance = allowance
	}
	recs, err := r.Ledger.PlanShards(ctx, c.ID, stage, first)
	if err != nil {
		return nil, r.failed(ctx, c.ID, now, err)
	}
	todo := make([]campaign.Shard, len(recs))
	for i, rec := range recs {
		// A shard planned before keeps its quota plan; it sends this
		// definition (a resumed campaign sends its edited version).
		todo[i] = rec.Shard
		todo[i].Def = c.Fingerprint()
	}
	rep.Shards = len(todo)
	if len(todo) == 0 {
		// Every shard was done, but the stage was not finished (its last
		// worker stopped in between): finish it now.
		return rep, r.finishStage(ctx, c, stage, now)
	}
	if r.Shards != nil {
		// The fan-out workers read the campaign again, by its id.
		if _, err := r.Find(ctx, c.ID); err != nil {
			return rep, r.failed(ctx, c.ID, now, fmt.Errorf("campaign %s: its shards could not find it: %w", c.ID, err))
		}
		if err := r.Shards.EnqueueShards(ctx, todo...); err != nil {
			return rep, r.failed(ctx, c.ID, now, err)
		}
		r.Logger().InfoContext(ctx, "campaign fanning out", "campaign", c.ID, "stage", stage, "shards", len(todo))
		return rep, nil
	}
	// No fan-out queue: this run decides the shards itself, each next page
	// as it is found.
	q := &memQueue{todo: todo}
	var errs []error
	for len(q.todo) > 0 {
		sh := q.todo[0]
		q.todo = q.todo[1:]
		srep, err := r.decideShard(ctx, c, sh, q, now)
		rep.add(srep)
		if err != nil {
			errs = append(errs, fmt.Errorf("shard %s: %w", sh.ID(), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return rep, r.failed(ctx, c.ID, now, err)
	}
	return rep, nil
}

// failed records why a run did not finish a campaign: the next hourly run
// takes over at once (the lease is let go) and finishes what this one left.
func (r *Runner) failed(ctx context.Context, id string, now time.Time, err error) error {
	if ferr := r.Ledger.CampaignFailed(ctx, id, now, firstLine(err)); ferr != nil {
		err = errors.Join(err, ferr)
	}
	return err
}

// winner is a test's decision: the one kept on the campaign if a run made
// it before, or else made now from how the variants did (the report's
// counters of the campaign's rows since it started: no scan of messages)
// and kept.
func (r *Runner) winner(ctx context.Context, c campaign.Campaign, st campaign.State, now time.Time) (*campaign.Winner, error) {
	if st.Winner != nil {
		return st.Winner, nil
	}
	results := map[string]stats.Proportion{}
	for _, month := range months(st.StartedAt, now) {
		rows, _, err := r.Ledger.ReportRows(ctx, month)
		if err != nil {
			return nil, fmt.Errorf("campaign %s: how the variants did in %s: %w", c.ID, month, err)
		}
		for key, n := range rows {
			row, err := report.ParseKey(key)
			if err != nil || row.Plan != c.Unit() || row.Variant == "" {
				continue // another row (or one this code cannot read, which is not a variant's)
			}
			hits := n.Clicked
			if c.Test.WinnerBy == campaign.ByPurchases {
				hits = n.TreatedRepurchased
			}
			p := results[row.Variant]
			p.N += int(n.Sent)
			p.K += int(hits)
			results[row.Variant] = p
		}
	}
	w, err := r.Ledger.DecideWinner(ctx, c.ID, campaign.ChooseWinner(c.Test.WinnerBy, c.Variants, results, now))
	if err != nil {
		return nil, err
	}
	r.Logger().InfoContext(ctx, "campaign test decided", "campaign", c.ID, "winner", w.Template, "by", w.By, "clear", w.Clear,
		"diff", w.Diff, "ci_low", w.Low, "ci_high", w.High)
	return &w, nil
}

// months lists the report months (Japan's) from one time to another.
func months(from, to time.Time) []string {
	if from.IsZero() || from.After(to) {
		from = to
	}
	loc := customer.DefaultLocation()
	f := from.In(loc)
	m := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, loc)
	last := report.Month(to)
	var out []string
	for report.Month(m) <= last {
		out = append(out, report.Month(m))
		m = m.AddDate(0, 1, 0)
	}
	return out
}

// decide records one customer's newsletter (queued, skipped or suppressed)
// and returns the sender job or the multicast candidate it needs.
//
// The record names the shard deciding it, which counts it in the report when
// the shard is done: decided adds it then (and a record an earlier attempt
// at the same shard made, not counted yet).
func (r *Runner) decide(ctx context.Context, c campaign.Campaign, shard string, cust *customer.Customer, now time.Time, linePaused, overQuota bool,
	voices []render.Voice, rep *Report, mu *sync.Mutex, decided *[]message.Record) (*message.Job, *pending, error) {
	count := func(n *int) { mu.Lock(); *n++; mu.Unlock() }
	defer func() {
		mu.Lock()
		rep.Recipients = append(rep.Recipients, cust.ID)
		mu.Unlock()
	}()
	rk := rank.Parse(cust.Rank)
	tpl := c.TemplateFor(rk)
	// The campaign's split: held out, or a variant; the rest of a test
	// gets its winner.
	lot := c.Design().Draw(cust.ID, c.Unit())
	if rep.Wave == WaveWinner && !lot.HeldOut {
		lot.Template = rep.Winner.Template
	}
	if lot.Template != "" {
		tpl = lot.Template
	}
	key := message.CampaignKey(cust.ID, c.ID)
	ch, why := delivery.Choose(cust, "", r.available(tpl))
	job := message.Job{Key: key, Kind: message.Newsletter, CustomerID: cust.ID, Rank: cust.Rank, QueuedAt: now,
		Template: tpl, Channel: ch, Plan: message.CampaignPlan(c.ID)}
	rec := message.Record{Key: key, Kind: message.Newsletter, CustomerID: cust.ID, Rank: cust.Rank, Channel: ch,
		Template: tpl, Variant: lot.Template, Plan: job.Plan, Status: message.Queued, CreatedAt: now, UpdatedAt: now, Job: &job,
		TemplateFolderVersion: contentset.FolderVersion(r.ContentFiles, tpl), Shard: shard}
	var sends map[string]customer.CapSend // what counts against the cap, read with the customer
	stop, stopped := r.Policy.Topics.Stops(cust, message.Newsletter)
	switch {
	case ch == "":
		rec.Status, rec.Reason = message.Skipped, why
	case stop: // never multicast to a friend who stopped the newsletter
		rec.Status, rec.Reason = message.Skipped, stopped
	default:
		var err error
		if sends, err = flow.CapSends(ctx, r.Ledger, cust, r.Policy, now); err != nil {
			return nil, nil, err
		}
		recent := delivery.RecentSends(sends, func(k message.Key) bool { return k == key })
		switch {
		case r.Policy.InControlGroup(cust.ID):
			rec.Status, rec.Reason = message.HeldOut, "in the global control group"
		case lot.HeldOut:
			rec.Status, rec.Reason = message.HeldOut, "held out of this campaign ("+c.Holdout.String()+") to measure it"
		default:
			if d := r.Policy.CapFor(cust).ApplyCap(recent, []message.Kind{message.Newsletter}, now)[0]; !d.Allowed {
				rec.Status, rec.Reason = message.Suppressed, d.Reason
			}
		}
	}
	if rec.Status == message.Queued && ch == customer.LINE && overQuota {
		if r.overQuota(cust, tpl, &job, &rec, now) {
			count(&rep.QuotaEmail)
		}
	}
	onRecord, created, err := flow.Decide(ctx, r.Ledger, rec, r.Policy.CapChange(sends, rec))
	if err != nil {
		return nil, nil, err
	}
	if created || onRecord.Shard == shard {
		mu.Lock()
		*decided = append(*decided, *onRecord)
		mu.Unlock()
	}
	if !created {
		count(&rep.Earlier)
		if _, ok := onRecord.Pending(); !ok {
			return nil, nil, nil
		}
		// Decided by a run that stopped before sending: carry on with its
		// decision. batch sends it in the batch that run recorded, if any,
		// or else through the sender; never in a new batch, since that run
		// may have queued it for the sender already.
		job.Channel = onRecord.Channel
		return nil, &pending{member: campaign.Member{CustomerID: cust.ID, Key: key, LINEUserID: cust.LINEUserID}, job: job, carried: true}, nil
	}
	switch {
	case rec.Status == message.Skipped:
		count(&rep.Skipped)
		return nil, nil, nil
	case rec.Status == message.Suppressed:
		count(&rep.Suppressed)
		return nil, nil, nil
	case rec.Status == message.HeldOut:
		count(&rep.HeldOut)
		return nil, nil, nil
	case rec.Status == message.Deferred:
		count(&rep.QuotaHeld) // the hourly release sends it when the quota is back
		return nil, nil, nil
	case job.Channel == customer.LINE && r.LINE != nil && !linePaused &&
		!r.Policy.NotBefore(message.Newsletter, customer.LINE, cust.Location(), now).After(now):
		// Outside the customer's quiet hours: a multicast candidate. (In them,
		// the sender's push waits for the morning; while LINE is paused, the
		// sender sends around the pause or defers.)
		out, err := r.Templates.RenderIn(tpl, customer.LINE, render.Data{Customer: cust, RankID: rk.ID,
			RankLabel: r.Rules.Label(rk), Shop: r.Shop, Voices: voices})
		if err != nil {
			// The sender renders it again and records the failure on the
			// message itself, so it does not stay queued.
			return &job, nil, nil
		}
		return nil, &pending{member: campaign.Member{CustomerID: cust.ID, Key: key, LINEUserID: cust.LINEUserID}, content: *out.LINE,
			tpl: out.Template, job: job}, nil
	}
	return &job, nil, nil
}

// batch groups a shard's LINE recipients of identical content into multicast
// batches of up to 500, recorded before they are sent; a recipient alone with their
// content (personalised) goes through the sender as a push instead. Batches an
// earlier attempt at the shard recorded come back as they were.
func (r *Runner) batch(ctx context.Context, c campaign.Campaign, shard string, waiting []pending) ([]*campaign.Batch, []message.Job, error) {
	earlier, err := r.Ledger.Batches(ctx, c.ID, shard)
	if err != nil {
		return nil, nil, err
	}
	inBatch := map[message.Key]bool{}
	seq := 0
	var todo []*campaign.Batch
	for _, b := range earlier {
		for _, m := range b.Members {
			inBatch[m.Key] = true
		}
		seq = max(seq, b.Seq)
		if b.Status == campaign.Sending { // recorded, not yet taken by LINE nor handed over
			todo = append(todo, b)
		}
	}
	groups := map[[32]byte][]pending{}
	var order [][32]byte
	var singles []message.Job
	for _, p := range waiting {
		if inBatch[p.member.Key] {
			continue
		}
		if p.carried {
			singles = append(singles, p.job) // the sender's claim keeps it to one copy
			continue
		}
		h := sha256.Sum256(append([]byte(p.content.Text+"\x00"+p.tpl+"\x00"), p.content.Flex...))
		if _, ok := groups[h]; !ok {
			order = append(order, h)
		}
		groups[h] = append(groups[h], p)
	}
	for _, h := range order {
		g := groups[h]
		sort.Slice(g, func(i, j int) bool { return g[i].member.CustomerID < g[j].member.CustomerID })
		if len(g) == 1 {
			singles = append(singles, g[0].job)
			continue
		}
		for start := 0; start < len(g); start += batchSize {
			seq++
			b := &campaign.Batch{CampaignID: c.ID, Shard: shard, Seq: seq, Template: g[0].tpl, Text: g[0].content.Text, Flex: g[0].content.Flex, Status: campaign.Sending,
				Content: r.ContentRevision, Versions: contentset.TemplateVersions(r.ContentFiles, g[0].tpl)}
			for _, p := range g[start:min(start+batchSize, len(g))] {
				b.Members = append(b.Members, p.member)
			}
			if err := r.Ledger.CreateBatch(ctx, b); err != nil {
				return nil, nil, err
			}
			todo = append(todo, b)
		}
	}
	return todo, singles, nil
}

// sendBatches sends the batches in parallel, each under its own retry key.
// When LINE refuses a batch because the month's quota is used up, LINE is
// paused for every sender and that batch, like every batch after it, is
// handed to the sender member by member.
func (r *Runner) sendBatches(ctx context.Context, batches []*campaign.Batch, now time.Time, rep *Report) error {
	var (
		mu   sync.Mutex
		errs []error
		pool errgroup.Group
	)
	pool.SetLimit(r.workers())
	for _, b := range batches {
		pool.Go(func() error {
			sent, err := r.sendBatch(ctx, b, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("batch %d: %w", b.Seq, err))
			case sent:
				rep.Batches++
				rep.Multicast += len(b.Members)
			default:
				rep.Handed += len(b.Members)
			}
			return nil
		})
	}
	_ = pool.Wait() // every error is in errs
	return errors.Join(errs...)
}

// sendBatch multicasts one batch, or hands it over while LINE is paused.
func (r *Runner) sendBatch(ctx context.Context, b *campaign.Batch, now time.Time) (sent bool, err error) {
	pause, err := r.Pauses.Of(ctx, customer.LINE, now)
	if err != nil {
		return false, err
	}
	if !pause.Active(now) {
		first, err := r.Ledger.BatchAttempted(ctx, b, now)
		if err != nil {
			return false, err
		}
		if now.Sub(first) > RetryKeyLife {
			// LINE may have taken it and no longer knows its retry key: sent
			// again, it could reach everyone twice. Its members are settled
			// as not confirmed instead, and said so.
			r.Logger().WarnContext(ctx, "batch first sent over 23 hours ago is not sent again", "campaign", b.CampaignID, "batch", b.Item)
			return false, r.Ledger.BatchUnconfirmed(ctx, b, now, "multicast first sent "+first.UTC().Format(time.RFC3339)+
				" and not confirmed; LINE keeps its retry key 24 hours, so it is not sent again (it may have been delivered)")
		}
		to := make([]string, len(b.Members))
		for i, m := range b.Members {
			to[i] = m.LINEUserID
		}
		receipt, err := delivery.WithRetries(ctx, r.Limit, r.Sleep, func() (delivery.Receipt, error) {
			return r.LINE.Multicast(ctx, to, &render.LINE{Text: b.Text, Flex: b.Flex}, batchRetryKey(b))
		})
		var f *delivery.Failure
		switch {
		case err == nil:
			return true, r.Ledger.BatchSent(ctx, b, receipt.ProviderID, now)
		case errors.As(err, &f) && !f.QuotaUsedUp && (f.Retryable || f.Ambiguous):
			// Worth another try under the same retry key, a few times; then
			// the members go to the sender one by one, where each settles.
			attempts, ferr := r.Ledger.BatchFailed(ctx, b, now)
			if ferr != nil || attempts < MaxBatchAttempts {
				return false, errors.Join(err, ferr)
			}
			r.Logger().WarnContext(ctx, "batch failed too often; its members go one by one", "campaign", b.CampaignID, "batch", b.Seq, "error", err)
			return false, r.handOver(ctx, b, now)
		case !errors.As(err, &f) || !f.QuotaUsedUp:
			// LINE refused the batch for good (or it could not be sent at
			// all): each member goes alone and settles with its own outcome.
			r.Logger().WarnContext(ctx, "batch refused; its members go one by one", "campaign", b.CampaignID, "batch", b.Seq, "error", err)
			return false, r.handOver(ctx, b, now)
		}
		p := delivery.LINEQuotaPause(now)
		if err := r.Pauses.Set(ctx, p); err != nil {
			return false, err
		}
		r.Logger().WarnContext(ctx, "channel paused: monthly quota used up", "channel", customer.LINE, "until", p.Until, "campaign", b.CampaignID)
	}
	return false, r.handOver(ctx, b, now)
}

// handOver queues the members of a batch LINE refused whole for the sender,
// one job each; nothing of the batch was delivered.
func (r *Runner) handOver(ctx context.Context, b *campaign.Batch, now time.Time) error {
	var jobs []message.Job
	for _, m := range b.Members {
		rec, err := r.Ledger.Message(ctx, m.Key)
		if err != nil {
			return err
		}
		if job, ok := rec.Pending(); ok {
			jobs = append(jobs, job)
		}
	}
	if err := r.Queue.Enqueue(ctx, jobs...); err != nil {
		return err
	}
	return r.Ledger.HandBatchOver(ctx, b, now)
}

// batchRetryKey is the X-Line-Retry-Key of a batch: the same batch, the same key.
func batchRetryKey(b *campaign.Batch) string {
	if b.Shard != "" {
		return uuid.NewSHA1(batchNamespace, fmt.Appendf(nil, "%s|%s|%d", b.CampaignID, b.Shard, b.Seq)).String()
	}
	return uuid.NewSHA1(batchNamespace, fmt.Appendf(nil, "%s|%d", b.CampaignID, b.Seq)).String()
}

var batchNamespace = uuid.MustParse("b1a7c4f0-5e1d-4c2a-9b0e-da1f0c0da1f1")

func (r *Runner) workers() int {
	if r.Workers > 0 {
		return r.Workers
	}
	return 8
}

func (r *Runner) holder() string {
	if r.Holder != "" {
		return r.Holder
	}
	return "an unnamed run"
}

// Progress is where a campaign stands: its state, and its messages by
// status and channel.
type Progress struct {
	Campaign campaign.Campaign
	State    campaign.State
	campaign.Tally
	// Missing are the shards of the stage being fanned out not done yet:
	// queued, failing (in the dead-letter queue after their tries), stopped.
	Missing []campaign.ShardRecord
}

// InFlight counts the messages not settled yet (queued, retrying, claimed,
// and ambiguous emails still to be rechecked): a campaign is sent when none
// are left. Deferred messages are held, not in flight.
func (p *Progress) InFlight() int {
	n := p.Rechecking
	for st, byCh := range p.Messages {
		if st.OnItsWay() {
			for _, c := range byCh {
				n += c
			}
		}
	}
	return n
}

// Decided counts every message of the campaign.
func (p *Progress) Decided() int {
	n := 0
	for _, byCh := range p.Messages {
		for _, c := range byCh {
			n += c
		}
	}
	return n
}

// Find returns a campaign defined in campaigns.yaml or created at run time.
func (r *Runner) Find(ctx context.Context, id string) (campaign.Campaign, error) {
	for _, c := range r.Defined {
		if c.ID == id {
			return c, nil
		}
	}
	c, ok, err := r.Ledger.CampaignDef(ctx, id)
	if err != nil {
		return campaign.Campaign{}, err
	}
	if !ok {
		return campaign.Campaign{}, fmt.Errorf("campaign %s: %w", id, domain.ErrNotFound)
	}
	return c, nil
}

// Progress reads where a campaign stands, through the by-campaign index.
func (r *Runner) Progress(ctx context.Context, id string) (*Progress, error) {
	c, err := r.Find(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := r.Ledger.CampaignState(ctx, id)
	if err != nil {
		return nil, err
	}
	tally, err := r.Ledger.CampaignProgress(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &Progress{Campaign: c, State: st, Tally: tally}
	if st.Stage != "" && (st.Status == campaign.Sending || st.Status == campaign.Stopped || st.Status == campaign.Cancelled) {
		if p.Missing, err = r.Ledger.MissingShards(ctx, id, st.Stage); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Complete marks sent every delivering campaign none of whose messages is in
// flight any more, with its final counts, and returns their progress.
func (r *Runner) Complete(ctx context.Context, now time.Time) ([]*Progress, error) {
	_, states, err := r.Ledger.Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	var done []*Progress
	var errs []error
	for id, st := range states {
		if st.Status != campaign.Delivering {
			continue
		}
		p, err := r.Progress(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if p.InFlight() > 0 || p.Decided() < p.State.Counts["audience"] {
			continue // (an index lags its table a little: every decision must show)
		}
		final := map[string]int{}
		for status, byCh := range p.Messages {
			for ch, n := range byCh {
				final[string(status)+"/"+ch] = n
			}
		}
		if ok, err := r.Ledger.FinishCampaign(ctx, id, campaign.State{Status: campaign.Sent, FinishedAt: now, FinalCounts: final}); err != nil || !ok {
			errs = append(errs, err)
			continue
		}
		p.State.Status = campaign.Sent
		r.Logger().InfoContext(ctx, "campaign sent", "campaign", id, "messages", p.Decided())
		done = append(done, p)
	}
	return done, errors.Join(errs...)
}

// overQuota decides a customer whose LINE message does not fit in the
// month's quota: by email, when the policy says so and they agreed to it,
// or held for next month's quota.
func (r *Runner) overQuota(cust *customer.Customer, tpl string, job *message.Job, rec *message.Record, now time.Time) (byEmail bool) {
	if r.Policy.LINEQuota == delivery.ByEmail {
		if ch, _ := delivery.Choose(cust, customer.Email, func(ch customer.Channel) bool {
			return ch == customer.Email && r.available(tpl)(ch)
		}); ch == customer.Email {
			job.Channel, rec.Channel = ch, ch
			rec.Reason = "by email: this month's LINE quota is kept for higher ranks"
			return true
		}
	}
	at := delivery.QuotaResets(now)
	job.NotBefore, rec.NotBefore = at, at
	rec.Status = message.Deferred
	rec.Reason = "held for next month's LINE quota (line_quota: " + string(r.Policy.LINEQuota) + "); goes " + at.Format("2006-01-02 15:04 MST")
	return false
}
