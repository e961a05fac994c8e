package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/daifuku/daifuku/infra/seed"
	"github.com/daifuku/daifuku/shared/adapters/spreadsheet"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/event"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
	"github.com/daifuku/daifuku/shared/flows/daily"
	"github.com/daifuku/daifuku/shared/flows/events"
	"github.com/daifuku/daifuku/shared/flows/reconcile"
	"github.com/daifuku/daifuku/shared/flows/referrals"
)

// Summary is what a run did.
type Summary struct {
	CustomersCreated, CustomersUpdated int
	Orders, DuplicateOrders            int
	Queued                             int
	Schedule                           *daily.Report
	Campaigns                          []*campaigns.Report
	// Events is what the events run did (the demo event's early wave).
	Events *events.Report
	// Referral is what the demo referral order's code did.
	Referral *referrals.Outcome
	// Recovered are the messages a previous run left in flight, sent again.
	Recovered *reconcile.Report
	// Completed are the campaigns all of whose messages settled in this run.
	Completed []string
	// DeadJobs failed every receive and wait in the local dead-letter list.
	DeadJobs int
	// Messages counts this run's messages by rank, kind, channel and status.
	Messages map[[4]string]int
	// Waiting holds, for the rows of deferred messages, when the last of
	// them may go and why it waits.
	Waiting map[[4]string]Wait
}

// Wait is when deferred messages may go, and why they wait.
type Wait struct {
	Until  time.Time
	Reason string
}

// DemoCampaign is the newsletter `make run` sends once per local ledger.
const DemoCampaign = "demo-winter"

// DemoEvent is the event `make run` creates once per local ledger, 16 days
// ahead: royal and semi-royal customers are invited the day it is created,
// everyone else three days later (events.yaml's early access).
const DemoEvent = "demo-tea"

// DemoReferrer introduces the buyer of DemoReferralOrder: their referral
// thank-you is in the outbox.
const (
	DemoReferrer      = "C004"
	DemoReferralOrder = "DEMO-R1"
)

// NewSummary returns an empty summary.
func NewSummary() *Summary {
	return &Summary{Messages: map[[4]string]int{}, Waiting: map[[4]string]Wait{}}
}

// ImportCustomers loads a customers CSV into the ledger.
func (e *Env) ImportCustomers(ctx context.Context, path string, s *Summary) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cs, err := spreadsheet.Customers(f, e.Intake.Now())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, c := range cs {
		created, err := e.Intake.ImportCustomer(ctx, c)
		if err != nil {
			return err
		}
		if created {
			s.CustomersCreated++
		} else {
			s.CustomersUpdated++
		}
	}
	return nil
}

// ImportOrders feeds an orders CSV through the order flow, as the shop's
// checkout would, and returns the thank-you keys it queued.
func (e *Env) ImportOrders(ctx context.Context, path string, s *Summary) ([]message.Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	orders, lines, err := spreadsheet.OrdersWithLines(f, e.Intake.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Oldest first, so aggregates and rank changes happen in the order they did.
	sort.SliceStable(orders, func(i, j int) bool { return orders[i].OrderedAt.Before(orders[j].OrderedAt) })
	var keys []message.Key
	for _, o := range orders {
		res, err := e.Intake.RecordOrder(ctx, o)
		if err != nil {
			// The rows before it are recorded (a second import skips them as duplicates); this one is not.
			return nil, fmt.Errorf("%s: line %d: %w", path, lines[o.ID], err)
		}
		if res.Duplicate {
			s.DuplicateOrders++
		} else {
			s.Orders++
		}
		if res.ThankYou != "" {
			keys = append(keys, message.Key(res.ThankYou))
		}
	}
	return keys, nil
}

// AddDemo adds the demo cast (seed.Demo) unless it is in the ledger already.
func (e *Env) AddDemo(ctx context.Context, now time.Time) (added int, err error) {
	for _, c := range seed.Demo(now) {
		c.NextDue = e.Daily.Plans.NextVisit(e.Daily.Rules, c, now)
		err := e.Store.SaveCustomer(ctx, c)
		if errors.Is(err, domain.ErrConflict) {
			continue // there from an earlier run
		}
		if err != nil {
			return added, err
		}
		added++
	}
	return added, nil
}

// Run is the main local job: import the seed ledger in dir (customers.csv,
// orders.csv) and the demo cast, run today's schedule, send every message
// queued, and count what happened.
func (e *Env) Run(ctx context.Context, dir string) (*Summary, error) {
	s := NewSummary()
	if err := e.Recover(ctx, s); err != nil {
		return nil, err
	}
	if err := e.ImportCustomers(ctx, filepath.Join(dir, "customers.csv"), s); err != nil {
		return nil, err
	}
	keys, err := e.ImportOrders(ctx, filepath.Join(dir, "orders.csv"), s)
	if err != nil {
		return nil, err
	}
	now := e.Intake.Now()
	added, err := e.AddDemo(ctx, now)
	if err != nil {
		return nil, err
	}
	s.CustomersCreated += added
	referred, err := e.demoReferral(ctx, now, s)
	if err != nil {
		return nil, err
	}
	keys = append(keys, referred...)
	if s.Schedule, err = e.Daily.Run(ctx, now, false); err != nil {
		return nil, err
	}
	for _, d := range s.Schedule.Decisions {
		keys = append(keys, d.Key)
	}
	if err := e.demoEvent(ctx, now); err != nil {
		return nil, err
	}
	if s.Events, err = e.Events.Run(ctx, now); err != nil {
		return nil, err
	}
	keys = append(keys, s.Events.Keys...)
	// A demo newsletter, created as `daifuku campaign create` would, due now.
	demo := campaign.Campaign{ID: DemoCampaign, Title: "冬のお便り（デモ）", SendAt: now,
		Audience:  campaign.Audience{All: true},
		Templates: map[string]string{"royal": "newsletter/2026-winter-royal", "default": "newsletter/2026-winter-default"},
		Early:     e.Content.EarlyAccess}
	if err := e.Store.CreateCampaign(ctx, demo); err != nil && !errors.Is(err, domain.ErrDuplicate) {
		return nil, err
	}
	reps, err := e.Campaigns.SendDue(ctx, now)
	if err != nil {
		return nil, err
	}
	s.Campaigns = reps
	for _, rep := range reps {
		for _, id := range rep.Recipients {
			keys = append(keys, message.CampaignKey(id, rep.Campaign))
		}
	}
	if err := e.Finish(ctx, s); err != nil {
		return nil, err
	}
	return s, e.count(ctx, s, keys)
}

// demoReferral records an order of a new customer who came with
// DemoReferrer's code, as the shop's checkout would, once per local ledger.
func (e *Env) demoReferral(ctx context.Context, now time.Time, s *Summary) ([]message.Key, error) {
	code, err := e.Referrals.Ensure(ctx, DemoReferrer)
	if err != nil {
		return nil, err
	}
	res, err := e.Intake.RecordOrder(ctx, customer.Order{ID: DemoReferralOrder, CustomerID: "DEMO-10", Total: 5400,
		OrderedAt: now.Add(-time.Hour), ReferralCode: code,
		Items:   []customer.Item{{SKU: "TEA-01", Name: "八女茶 詰め合わせ", Quantity: 1, Price: 5400}},
		Contact: customer.Contact{Name: "西村 千夏", Email: "chinatsu.nishimura@example.jp"}})
	if err != nil {
		return nil, err
	}
	if res.Duplicate {
		s.DuplicateOrders++
		return nil, nil
	}
	s.Orders++
	s.Referral = res.Referral
	keys := []message.Key{message.Key(res.ThankYou)}
	if res.Referral != nil && res.Referral.ThankYou != "" {
		keys = append(keys, res.Referral.ThankYou)
	}
	return keys, nil
}

// demoEvent creates DemoEvent, as `daifuku event create` would.
func (e *Env) demoEvent(ctx context.Context, now time.Time) error {
	day := now.In(customer.DefaultLocation()).AddDate(0, 0, 16)
	ev := event.Event{ID: DemoEvent, Title: "器と茶の会（デモ）", Starts: day.Format(time.DateOnly) + " 14:00",
		Zone: customer.DefaultTimezone, Place: "店舗2階 ギャラリー", Capacity: 12,
		Audience: campaign.Audience{Ranks: []string{"royal", "semi-royal", "repeater"}}}
	if el := e.Content.EventsEarly; el != nil { // events.yaml's early access, as event create gives it
		ev.Early = &event.Early{Ranks: el.Ranks, Days: el.Days}
	}
	if err := ev.Validate(e.Content.Known()); err != nil {
		return err
	}
	if err := e.Store.CreateEvent(ctx, ev); err != nil && !errors.Is(err, domain.ErrDuplicate) {
		return err
	}
	return nil
}

// Recover sends again what a previous run left in flight: the local queue
// lives in memory, so whatever was on it when that run stopped is lost, and
// the ledger still has it in flight.
func (e *Env) Recover(ctx context.Context, s *Summary) error {
	rep, err := e.Reconciler.Recover(ctx, e.Now())
	s.Recovered = rep
	return err
}

// Finish works the queues until they are empty, then marks sent the
// campaigns all of whose messages settled.
func (e *Env) Finish(ctx context.Context, s *Summary) error {
	s.Queued = e.Queue.Len()
	if err := e.SendQueued(ctx); err != nil {
		return err
	}
	s.DeadJobs, _ = e.Dead()
	done, err := e.Campaigns.Complete(ctx, e.Now())
	for _, p := range done {
		s.Completed = append(s.Completed, p.Campaign.ID)
	}
	return err
}

// count tallies the messages of keys by rank, kind, channel and status.
func (e *Env) count(ctx context.Context, s *Summary, keys []message.Key) error {
	for _, k := range keys {
		rec, err := e.Store.Message(ctx, k)
		if err != nil {
			return err
		}
		ch := string(rec.Channel)
		if ch == "" {
			ch = "-"
		}
		row := [4]string{rec.Rank, string(rec.Kind), ch, string(rec.Status)}
		s.Messages[row]++
		if w, ok := s.Waiting[row]; rec.Status == message.Deferred && (!ok || rec.NotBefore.After(w.Until)) {
			s.Waiting[row] = Wait{Until: rec.NotBefore, Reason: rec.Reason}
		}
	}
	return nil
}

// ReleaseCommand is what releases deferred messages locally, as the hourly
// run does in AWS.
const ReleaseCommand = "go run ./infra/cmd/daifuku release"

// Print writes the summary for people.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "ledger: %d customers added, %d updated; %d orders recorded, %d already recorded\n",
		s.CustomersCreated, s.CustomersUpdated, s.Orders, s.DuplicateOrders)
	if r := s.Schedule; r != nil {
		fmt.Fprintf(w, "schedule %s: %d customers due (%d index items read), %d lapsed, %d messages decided, %d decided before\n",
			r.Date, r.Customers, r.ItemsRead, r.Lapsed, len(r.Decisions), r.Repeated)
	}
	if r := s.Recovered; r != nil && r.Stranded > 0 {
		fmt.Fprintf(w, "recovered: %d messages a previous run left in flight, %d sent again (%d ambiguous emails), %d failed for good\n",
			r.Stranded, r.Requeued, r.Resent, r.GaveUp)
	}
	for _, c := range s.Campaigns {
		if c.Busy != nil {
			fmt.Fprintf(w, "campaign %s: not sent by this run: %v; `daifuku campaign status %s` shows its progress, "+
				"`daifuku campaign resume %s` takes it over if that run is gone\n", c.Campaign, c.Busy, c.Campaign, c.Campaign)
			continue
		}
		wave := ""
		switch {
		case len(c.Early) > 0:
			wave = " (early access: " + strings.Join(c.Early, ", ") + ")"
		case c.Wave == campaigns.WaveTest:
			wave = " (test share: the variants; the rest waits for the winner)"
		case c.Winner != nil:
			wave = " (the rest: " + c.Winner.Verdict() + ")"
		}
		fmt.Fprintf(w, "campaign %s%s: %d customers, %d by LINE multicast in %d requests, %d LINE pushes, %d emails, %d skipped, %d held by the cap\n",
			c.Campaign, wave, c.Audience, c.Multicast, c.Batches, c.Push, c.Email, c.Skipped, c.Suppressed)
		if c.Quota != nil && c.Quota.Over > 0 {
			fmt.Fprintf(w, "  %s: %d by email instead, %d held\n", c.Quota, c.QuotaEmail, c.QuotaHeld)
		}
	}
	if r := s.Events; r != nil && (r.Invited > 0 || len(r.Keys) > 0) {
		fmt.Fprintf(w, "events: %d invited, %d messages decided (%s: royal and semi-royal today, early access; the rest when events.yaml's early_access days have passed)\n",
			r.Invited, len(r.Keys), DemoEvent)
	}
	if o := s.Referral; o != nil {
		fmt.Fprintf(w, "referral: order %s carried %s's code: %s", DemoReferralOrder, DemoReferrer, o.Status)
		if o.Reason != "" {
			fmt.Fprintf(w, " (%s)", o.Reason)
		}
		if o.ThankYou != "" {
			fmt.Fprint(w, "; the referrer's thank-you is queued")
		}
		fmt.Fprintln(w)
	}
	for _, id := range s.Completed {
		fmt.Fprintf(w, "campaign %s: every message settled: sent\n", id)
	}
	if s.DeadJobs > 0 {
		fmt.Fprintf(w, "%d jobs failed every try and wait in the local dead-letter list; their messages stay in flight: "+
			"`daifuku messages stuck` says why, `daifuku messages redrive -all` sends them again\n", s.DeadJobs)
	}
	if len(s.Messages) == 0 {
		fmt.Fprintln(w, "messages: none new this run (everything due was decided before)")
		return
	}
	keys := make([][4]string, 0, len(s.Messages))
	for k := range s.Messages {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return strings.Join(a[:], " ") < strings.Join(b[:], " ")
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tKIND\tCHANNEL\tSTATUS\tMESSAGES\t")
	var last time.Time
	for _, k := range keys {
		note := ""
		if wt, ok := s.Waiting[k]; ok {
			note = "← waits until " + wt.Until.In(customer.DefaultLocation()).Format("01-02 15:04 MST")
			if wt.Reason != "" {
				note += " (" + wt.Reason + ")"
			}
			if wt.Until.After(last) {
				last = wt.Until
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", k[0], k[1], k[2], k[3], s.Messages[k], note)
	}
	tw.Flush()
	if !last.IsZero() {
		fmt.Fprintf(w, "deferred messages go at the hourly release once their time comes: %s\n"+
			"to see them all go now, release as of the last of those times: %s -now %s\n",
			ReleaseCommand, ReleaseCommand, last.In(customer.DefaultLocation()).Format(time.RFC3339))
	}
}
