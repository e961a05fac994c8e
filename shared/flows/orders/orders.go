// Package orders is the order flow: an order is stored once, the customer's
// purchase aggregates and rank follow it, and a thank-you for the customer's
// (new) rank is queued. Customers imported from a shop's spreadsheet come in
// here too.
package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/attribution"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/points"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/flows/flow"
	"github.com/daifuku/daifuku/shared/flows/referrals"
)

// Ledger is what the order flow needs of the store.
type Ledger interface {
	Customer(ctx context.Context, id string) (*customer.Customer, error)
	CommitOrder(ctx context.Context, o customer.Order, c *customer.Customer, thanks message.Record, attr attribution.Attribution, entries ...points.Entry) error
	Order(ctx context.Context, id string) (*customer.Order, error)
	flow.MoveCounter
	SetTags(ctx context.Context, customerID string, old, now []string) error
	Message(ctx context.Context, key message.Key) (*message.Record, error)
	SaveCustomer(ctx context.Context, c *customer.Customer) error
	Requeued(ctx context.Context, rec *message.Record, now time.Time, sweep bool) error
}

// Queue hands message jobs to the sender.
type Queue interface {
	Enqueue(ctx context.Context, jobs ...message.Job) error
}

// DefaultThankYouWindow is how old an order may be and still be thanked: an
// imported order history is recorded without thanking anyone for last year's purchase.
const DefaultThankYouWindow = 7 * 24 * time.Hour

// Intake records orders and imported customers.
type Intake struct {
	flow.Env
	Ledger         Ledger
	Queue          Queue
	Rules          *rank.Rules
	Plans          *plan.Plans // nil: no follow-up plans (next due dates are not kept)
	ThankYouWindow time.Duration
	// Attribution are the windows within which an order is a message's doing.
	Attribution attribution.Windows
	// Referrals runs after each order is recorded (the buyer's referral
	// code, the credit of the code the order carries); nil: no referrals.
	Referrals Referrals
	// Points is the points card (points.yaml); nil: orders earn none and may use none.
	Points *points.Config
}

// Referrals is the referral step that follows a recorded order. It is
// idempotent: a retried order finishes a credit its first delivery left
// undone, and credits nothing twice.
type Referrals interface {
	AfterOrder(ctx context.Context, o customer.Order) (*referrals.Outcome, error)
	// Ensure gives a customer a referral code if they have none.
	Ensure(ctx context.Context, customerID string) (string, error)
}

// MaxClockSkew is how far in the future an order may be dated: the shop's
// clock may run ahead of ours, but not by days.
const MaxClockSkew = 24 * time.Hour

// Result says what recording an order did.
type Result struct {
	OrderID     string `json:"order_id"`
	CustomerID  string `json:"customer_id"`
	Rank        string `json:"rank"`
	RankChanged bool   `json:"rank_changed"`
	NewCustomer bool   `json:"new_customer"`
	Duplicate   bool   `json:"duplicate"`
	ThankYou    string `json:"thank_you,omitempty"` // the queued message key
	// LastTouch is the last message the customer received before the order
	// ("" when none did, within its window).
	LastTouch string `json:"last_touch,omitempty"`
	// Referral is what the order's referral code did (nil: it carried none).
	Referral *referrals.Outcome `json:"referral,omitempty"`
	// PointsEarned and PointsBalance: what the order earned, and the
	// customer's points after it.
	PointsEarned  int64 `json:"points_earned"`
	PointsBalance int64 `json:"points_balance"`
}

// RecordOrder stores an order once and queues its thank-you, then runs the
// referral step. Recording the same order id again changes nothing and
// reports Duplicate (but completes a referral step left undone). An order
// that cannot be recorded as given is an error that Is domain.ErrInvalid.
func (in *Intake) RecordOrder(ctx context.Context, o customer.Order) (Result, error) {
	res, err := in.recordOrder(ctx, o)
	if err != nil || in.Referrals == nil {
		return res, err
	}
	// After the order's own commit, as a step of its own: an error here
	// asks the shop to retry the order, whose redelivery comes back here.
	if res.Referral, err = in.Referrals.AfterOrder(ctx, o); err != nil {
		return res, fmt.Errorf("order %s recorded; its referral step failed (retry the order): %w", o.ID, err)
	}
	return res, nil
}

func (in *Intake) recordOrder(ctx context.Context, o customer.Order) (Result, error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	if o.OrderedAt.After(in.Now().Add(MaxClockSkew)) {
		return Result{}, domain.Invalidf("order %s: ordered_at is in the future", o.ID)
	}
	var res Result
	var job *message.Job
	err := flow.RetryConflicts(ctx, func() (err error) {
		res, job, err = in.tryRecord(ctx, o)
		return err
	})
	switch {
	case errors.Is(err, domain.ErrDuplicate):
		return in.duplicate(ctx, o)
	case err != nil:
		return Result{}, err
	}
	if job != nil {
		// The record is queued in the messages table already; if this
		// enqueue fails, the order's redelivery enqueues it again (see duplicate).
		if err := in.Queue.Enqueue(ctx, *job); err != nil {
			return res, fmt.Errorf("queue thank-you for order %s: %w", o.ID, err)
		}
	}
	in.Logger().InfoContext(ctx, "order recorded", "order_id", o.ID, "customer_id", res.CustomerID,
		"rank", res.Rank, "rank_changed", res.RankChanged, "new_customer", res.NewCustomer, "thank_you", job != nil)
	return res, nil
}

func (in *Intake) tryRecord(ctx context.Context, o customer.Order) (Result, *message.Job, error) {
	now := in.Now()
	c, err := in.Ledger.Customer(ctx, o.CustomerID)
	isNew := errors.Is(err, domain.ErrNotFound)
	if err != nil && !isNew {
		return Result{}, nil, err
	}
	if isNew {
		c = newCustomer(o)
	}
	mergeContact(c, o.Contact, now, "order "+o.ID)
	// Points first, at the rank the checkout showed: an order that spends
	// more than the card holds is refused before anything is recorded.
	earned, entries, err := in.Points.Order(c, rank.Parse(c.Rank), o)
	if err != nil {
		if _, known := in.Ledger.Order(ctx, o.ID); known == nil {
			// Recorded before: its redemption is why the balance is short.
			return Result{}, nil, fmt.Errorf("record order %s: %w", o.ID, domain.ErrDuplicate)
		}
		return Result{}, nil, err
	}
	o.PointsEarned = earned
	changed := Apply(in.Rules, c, o, now)
	in.schedule(c, now)
	res := Result{OrderID: o.ID, CustomerID: c.ID, Rank: c.Rank, RankChanged: changed, NewCustomer: isNew,
		PointsEarned: earned, PointsBalance: c.Points.Balance}

	key := ThankYouKey(o)
	job := &message.Job{Key: key, Kind: message.ThankYou, CustomerID: c.ID, Rank: c.Rank, OrderID: o.ID, QueuedAt: now}
	rec := message.Record{Key: key, Kind: message.ThankYou, CustomerID: c.ID, Rank: c.Rank, OrderID: o.ID,
		Status: message.Queued, CreatedAt: now, UpdatedAt: now, Job: job}
	if now.Sub(o.OrderedAt) <= in.window() {
		res.ThankYou = string(key)
	} else {
		// Too old to thank: keep the record so the order is still attributable.
		rec.Status, rec.Reason, job = message.Skipped, "order older than the thank-you window", nil
	}
	// What the order owes to the messages before it (and to held-out
	// decisions, for the holdout's count).
	var attr attribution.Attribution
	if !isNew {
		recs, err := in.Ledger.MessagesSince(ctx, c.ID, o.OrderedAt.Add(-in.Attribution.Longest()))
		if err != nil {
			return Result{}, nil, err
		}
		attr = attribution.Of(recs, o.OrderedAt, in.Attribution)
	}
	attr.Organic = attr.None()
	res.LastTouch = string(attr.LastTouch)
	if err := in.Ledger.CommitOrder(ctx, o, c, rec, attr, entries...); err != nil {
		return Result{}, nil, err
	}
	// Each message (or held-out decision) the order follows counts one
	// repurchase in its row of the report, and the order's revenue, once:
	// a customer's second order within the window adds nothing to it.
	for _, t := range attr.Touches {
		side := "treated"
		if t.HeldOut {
			side = "holdout"
		}
		if err := in.Ledger.CountOnce(ctx, t.Key, "repurchased", map[string]int64{side + "_repurchased": 1, side + "_revenue": o.Total,
			side + "_revenue_sq": o.Total * o.Total}); err != nil {
			in.Logger().WarnContext(ctx, "repurchase not counted in the report", "order_id", o.ID, "message_key", t.Key, "error", err)
		}
	}
	if res.RankChanged {
		// The order's own touches: the move is the order's doing, and they are read already.
		touches := func() ([]attribution.Touch, error) { return attr.Touches, nil }
		if err := flow.CountRankMove(ctx, in.Ledger, in.Rules, c.ID, c.RankHistory[len(c.RankHistory)-1], touches); err != nil {
			in.Logger().WarnContext(ctx, "rank move not counted in the report", "order_id", o.ID, "error", err)
		}
	}
	return res, job, nil
}

// StaleAfter is how long a queued thank-you's job is trusted to be on its
// way: a redelivered order within it queues nothing; after it, the job may
// have been lost (the first delivery died before enqueueing it).
const StaleAfter = flow.StaleAfter

// duplicate answers a redelivered order: nothing is recorded again. A
// thank-you still queued whose job is stale is queued again (the sender's
// claim makes that safe); one whose job is fresh is left alone, so a storm
// of duplicate posts queues nothing.
func (in *Intake) duplicate(ctx context.Context, o customer.Order) (Result, error) {
	res := Result{OrderID: o.ID, CustomerID: o.CustomerID, Duplicate: true}
	rec, err := in.Ledger.Message(ctx, ThankYouKey(o))
	if errors.Is(err, domain.ErrNotFound) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	res.Rank = rec.Rank
	now := in.Now()
	if job, ok := rec.Pending(); ok && now.Sub(rec.Due()) >= StaleAfter {
		switch err := in.Ledger.Requeued(ctx, rec, now, false); {
		case errors.Is(err, domain.ErrConflict):
			// Claimed meanwhile: on its way.
		case err != nil:
			return res, err
		default:
			if err := in.Queue.Enqueue(ctx, job); err != nil {
				return res, fmt.Errorf("requeue thank-you for order %s: %w", o.ID, err)
			}
			res.ThankYou = string(rec.Key)
		}
	}
	in.Logger().InfoContext(ctx, "order already recorded", "order_id", o.ID, "requeued", res.ThankYou != "")
	return res, nil
}

// ThankYouKey is the key of the thank-you for an order: one per order, whatever the channel.
func ThankYouKey(o customer.Order) message.Key {
	return message.NewKey(message.ThankYou, o.CustomerID, "order:"+o.ID)
}

// Apply adds an order to a customer's aggregates and re-evaluates the rank,
// recording a change with its date. It reports whether the rank changed.
func Apply(rules *rank.Rules, c *customer.Customer, o customer.Order, now time.Time) bool {
	p := &c.Purchases
	p.TotalSpend += o.Total
	p.Count++
	if p.First.IsZero() || o.OrderedAt.Before(p.First) {
		p.First = o.OrderedAt
	}
	if o.OrderedAt.After(p.Last) {
		p.Last = o.OrderedAt
	}
	next := rank.Evaluate(rules, c, now).String()
	if next == c.Rank {
		return false
	}
	c.RankHistory = append(c.RankHistory, customer.RankChange{From: c.Rank, To: next, At: now, Cause: "order " + o.ID})
	c.Rank, c.RankSince = next, now
	return true
}

// schedule sets when the daily run next has something for the customer.
func (in *Intake) schedule(c *customer.Customer, now time.Time) {
	if in.Plans != nil {
		c.NextDue = in.Plans.NextVisit(in.Rules, c, now)
	}
}

func newCustomer(o customer.Order) *customer.Customer {
	return &customer.Customer{ID: o.CustomerID, SignedUpAt: o.OrderedAt}
}

// mergeContact fills in what the order tells us and the ledger lacks; it never
// overwrites what the customer or a webhook told us (an opt-out above all).
// The consent the checkout asked for comes with each new contact point, and
// is recorded as given (or not) on the order form.
func mergeContact(c *customer.Customer, ct customer.Contact, now time.Time, cause string) {
	if c.Name == "" {
		c.Name = ct.Name
	}
	if c.Email == "" && ct.Email != "" {
		c.Email = ct.Email
		c.Consent.Email = ct.EmailConsent == nil || *ct.EmailConsent
		c.NoteConsent(customer.Email, now, customer.ByOrderForm, cause)
	}
	if c.LINEUserID == "" && ct.LINEUserID != "" {
		c.LINEUserID = ct.LINEUserID
		c.Consent.LINE = ct.LINEConsent == nil || *ct.LINEConsent
		c.NoteConsent(customer.LINE, now, customer.ByOrderForm, cause)
	}
	if c.PreferredChannel == "" {
		c.PreferredChannel = ct.PreferredChannel
	}
	if c.Birthday == "" && ct.Birthday != "" {
		_ = c.SetBirthday(ct.Birthday) // a malformed birthday is dropped, not fatal to the order
	}
	if c.Timezone == "" {
		c.Timezone = ct.Timezone
	}
}

func (in *Intake) window() time.Duration {
	if in.ThankYouWindow > 0 {
		return in.ThankYouWindow
	}
	return DefaultThankYouWindow
}
