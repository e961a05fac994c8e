// Package referrals is word of mouth (口コミ): it gives each customer a
// referral code, credits the customer whose code an order or a new LINE
// friend's message carries, thanks them in the voice of their rank (and
// gives points, where configured), and records every referral refused.
//
// Crediting is a step of its own, after the order or event is recorded, and
// idempotent by the referred customer: a customer is referred once, ever
// (the record's key is theirs), and the same order or event arriving again
// finishes whatever its first delivery left undone (the thank-you, the
// points) without crediting twice.
package referrals

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/points"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/referral"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// Ledger is what referrals read and write.
type Ledger interface {
	Customer(ctx context.Context, id string) (*customer.Customer, error)
	ReferralCodeOwner(ctx context.Context, code string) (string, error)
	ClaimReferralCode(ctx context.Context, c *customer.Customer, code string, at time.Time) error
	Referral(ctx context.Context, id string) (*referral.Referral, error)
	CreditReferral(ctx context.Context, r referral.Referral, referrer *customer.Customer) error
	RecordRefusal(ctx context.Context, r referral.Referral) (bool, error)
	flow.Decisions
	flow.CapMessages
	Requeued(ctx context.Context, rec *message.Record, now time.Time, sweep bool) error
}

// Queue hands message jobs to the sender.
type Queue interface {
	Enqueue(ctx context.Context, jobs ...message.Job) error
}

// PointsCredit adds points to a customer's points card, once per entry id
// (a second call with the same id changes nothing).
type PointsCredit interface {
	Credit(ctx context.Context, customerID, entryID string, n int64, reason points.Reason, note string) (e points.Entry, duplicate bool, err error)
}

// Program runs the shop's referral programme.
type Program struct {
	flow.Env
	Ledger Ledger
	Queue  Queue
	Rules  *rank.Rules
	Plans  *plan.Plans // nil: no plans (next due dates are not kept)
	Policy delivery.Policy
	Config referral.Config
	// ShopURL is where referral links point (shop.yaml url).
	ShopURL string
	// Points credits referral points; nil: no points card.
	Points PointsCredit
}

// maxDraws bounds the draws of a code: with 887 million codes, a second
// draw is already rare.
const maxDraws = 10

// Code returns the customer's referral code, drawing one if they have none.
// Two callers at once end with the same code: the second finds the first's.
// c is updated to the customer as stored.
func (p *Program) Code(ctx context.Context, c *customer.Customer) (string, error) {
	for draws := 0; c.ReferralCode == ""; {
		code, err := referral.NewCode()
		if err != nil {
			return "", err
		}
		err = p.Ledger.ClaimReferralCode(ctx, c, code, p.Now())
		switch {
		case errors.Is(err, referral.ErrCodeTaken):
			if draws++; draws == maxDraws {
				return "", fmt.Errorf("referral code for %s: %d codes drawn were all taken", c.ID, maxDraws)
			}
		case errors.Is(err, domain.ErrConflict):
			// Someone gave them a code meanwhile (or the customer is gone): read again.
			fresh, err := p.Ledger.Customer(ctx, c.ID)
			if err != nil {
				return "", fmt.Errorf("referral code for %s: %w", c.ID, err)
			}
			*c = *fresh
		case err != nil:
			return "", err
		}
	}
	return c.ReferralCode, nil
}

// Ensure gives the customer with this id a referral code if they have none.
func (p *Program) Ensure(ctx context.Context, customerID string) (string, error) {
	c, err := p.Ledger.Customer(ctx, customerID)
	if err != nil {
		return "", fmt.Errorf("referral code for %s: %w", customerID, err)
	}
	return p.Code(ctx, c)
}

// Binding is what templates say about the customer's referrals.
func (p *Program) Binding(c *customer.Customer) render.Referral {
	if c == nil {
		return render.Referral{}
	}
	return render.Referral{Code: c.ReferralCode, URL: referral.Link(p.ShopURL, c.ReferralCode),
		LINEURL: referral.LINELink(p.Config.LINEBasicID, c.ReferralCode), Count: c.ReferralCount}
}

// Outcome says what a referral attempt did.
type Outcome struct {
	Status     referral.Status `json:"status"`
	Reason     string          `json:"reason,omitempty"`
	ReferrerID string          `json:"referrer_id,omitempty"`
	// ThankYou is the referrer's thank-you, when the referral was credited.
	ThankYou message.Key `json:"thank_you,omitempty"`
	// Repeated: the same order or event was credited before; its thank-you
	// and points were completed if they had not been.
	Repeated bool `json:"repeated,omitempty"`
}

// AfterOrder runs after an order is recorded (or found recorded, when it
// is a retry): the buyer gets a referral code, and the code the order
// carries, if any, credits its owner. The order must be recorded first.
func (p *Program) AfterOrder(ctx context.Context, o customer.Order) (*Outcome, error) {
	c, err := p.Ledger.Customer(ctx, o.CustomerID)
	if err != nil {
		return nil, fmt.Errorf("referrals of order %s: %w", o.ID, err)
	}
	if _, err := p.Code(ctx, c); err != nil {
		return nil, err
	}
	if o.ReferralCode == "" {
		return nil, nil
	}
	code, _ := referral.Normalize(o.ReferralCode)
	out, err := p.attempt(ctx, c, referral.Referral{Code: code, ReferredID: c.ID, Via: referral.ViaOrder, OrderID: o.ID, At: p.Now()})
	if err != nil {
		return nil, fmt.Errorf("referral of order %s: %w", o.ID, err)
	}
	return &out, nil
}

// FromLINE credits the owner of a code a customer sent in the shop's LINE
// chat (event is the webhook event id: its redelivery credits nothing
// more). The customer must be stored.
func (p *Program) FromLINE(ctx context.Context, customerID, code, event string) (Outcome, error) {
	c, err := p.Ledger.Customer(ctx, customerID)
	if err != nil {
		return Outcome{}, fmt.Errorf("referral of line event %s: %w", event, err)
	}
	if _, err := p.Code(ctx, c); err != nil {
		return Outcome{}, err
	}
	out, err := p.attempt(ctx, c, referral.Referral{Code: code, ReferredID: c.ID, Via: referral.ViaLINE, EventID: event, At: p.Now()})
	if err != nil {
		return Outcome{}, fmt.Errorf("referral of line event %s: %w", event, err)
	}
	return out, nil
}

// attempt credits or refuses one referral of the customer referred.
func (p *Program) attempt(ctx context.Context, referred *customer.Customer, a referral.Referral) (Outcome, error) {
	for range flow.MaxAttempts {
		prev, err := p.Ledger.Referral(ctx, referral.CreditID(referred.ID))
		switch {
		case err == nil && prev.SameAttempt(a):
			return p.complete(ctx, *prev, true)
		case err == nil:
			a.ReferrerID = p.owner(ctx, a.Code)
			return p.refuse(ctx, a, referral.AlreadyReferred)
		case !errors.Is(err, domain.ErrNotFound):
			return Outcome{}, err
		}
		owner, err := p.Ledger.ReferralCodeOwner(ctx, a.Code)
		switch {
		case errors.Is(err, domain.ErrNotFound) || a.Code == "":
			return p.refuse(ctx, a, referral.UnknownCode)
		case err != nil:
			return Outcome{}, err
		}
		a.ReferrerID = owner
		referrer, err := p.Ledger.Customer(ctx, owner)
		if err != nil {
			return Outcome{}, fmt.Errorf("referrer: %w", err)
		}
		if referral.SamePerson(referrer, referred) {
			return p.refuse(ctx, a, referral.SelfReferral)
		}
		if a.Via == referral.ViaLINE && p.tooLate(referred, a.At) {
			return p.refuse(ctx, a, referral.TooLate)
		}
		a.ID, a.Status = referral.CreditID(referred.ID), referral.Credited
		p.credit(referrer, a)
		switch err := p.Ledger.CreditReferral(ctx, a, referrer); {
		case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrDuplicate):
			continue // the referrer changed, or a credit for this customer won a race: look again
		case err != nil:
			return Outcome{}, err
		}
		p.Logger().InfoContext(ctx, "referral credited", "referrer_id", a.ReferrerID, "customer_id", a.ReferredID,
			"via", a.Via, "order_id", a.OrderID, "referrals", referrer.ReferralCount, "referrer_rank", referrer.Rank)
		return p.complete(ctx, a, false)
	}
	return Outcome{}, fmt.Errorf("credit the referral of %s: %w", referred.ID, domain.ErrConflict)
}

// credit counts the referral on the referrer (as read) and re-ranks them:
// rank rules may count referrals.
func (p *Program) credit(referrer *customer.Customer, a referral.Referral) {
	now := p.Now()
	referrer.ReferralCount++
	if next := rank.Evaluate(p.Rules, referrer, now).String(); next != referrer.Rank {
		referrer.RankHistory = append(referrer.RankHistory, customer.RankChange{From: referrer.Rank, To: next, At: now, Cause: "referral of " + a.ReferredID})
		referrer.Rank, referrer.RankSince = next, now
	}
	if p.Plans != nil {
		referrer.NextDue = p.Plans.NextVisit(p.Rules, referrer, now)
	}
}

// tooLate reports whether a code sent over LINE came too long after the
// sender added the shop: then the introduction is not what brought them.
func (p *Program) tooLate(c *customer.Customer, at time.Time) bool {
	since := c.FriendAddedAt
	if since.IsZero() {
		since = c.SignedUpAt
	}
	days := p.Config.LINEWindowDays
	if days <= 0 {
		days = referral.DefaultConfig.LINEWindowDays
	}
	return !since.IsZero() && at.Sub(since) > time.Duration(days)*24*time.Hour
}

// owner is the customer a code belongs to, for a refusal's record ("" when
// unknown or unreadable: the refusal stands either way).
func (p *Program) owner(ctx context.Context, code string) string {
	if code == "" {
		return ""
	}
	id, err := p.Ledger.ReferralCodeOwner(ctx, code)
	if err != nil {
		return ""
	}
	return id
}

// refuse records a refused referral, once per order or event, and changes
// nothing else.
func (p *Program) refuse(ctx context.Context, a referral.Referral, reason string) (Outcome, error) {
	a.ID, a.Status, a.Reason = referral.RefusalID(a.Via, a.Source()), referral.Refused, reason
	created, err := p.Ledger.RecordRefusal(ctx, a)
	if err != nil {
		return Outcome{}, err
	}
	p.Logger().InfoContext(ctx, "referral refused", "reason", reason, "customer_id", a.ReferredID, "referrer_id", a.ReferrerID,
		"via", a.Via, "order_id", a.OrderID, "repeated", !created)
	return Outcome{Status: referral.Refused, Reason: reason, ReferrerID: a.ReferrerID, Repeated: !created}, nil
}

// ThankYouKey is the key of the referrer's thank-you for one referral: one
// per referred customer, whatever the channel.
func ThankYouKey(r referral.Referral) message.Key {
	return message.NewKey(message.Referral, r.ReferrerID, "referral:"+r.ReferredID)
}

// PointsEntry is the points-card entry of a referral, for the referrer
// ("referrer") or the customer referred ("referred"): one each, ever.
func PointsEntry(r referral.Referral, side string) string {
	return side + ":" + r.ReferredID // the card prefixes its reason: "referral:referrer:C2"
}

// complete does what follows a credit: the referrer's thank-you (decided
// through the frequency cap, sent through the usual sender and its
// policies) and the points. Each is idempotent, so a retry finishes what a
// first delivery left undone.
func (p *Program) complete(ctx context.Context, r referral.Referral, repeated bool) (Outcome, error) {
	out := Outcome{Status: referral.Credited, ReferrerID: r.ReferrerID, Repeated: repeated}
	referrer, err := p.Ledger.Customer(ctx, r.ReferrerID)
	if err != nil {
		return out, fmt.Errorf("referrer: %w", err)
	}
	key, err := p.thank(ctx, referrer, r)
	if err != nil {
		return out, err
	}
	out.ThankYou = key
	if p.Points != nil {
		for _, g := range []struct {
			customerID, side string
			points           int
		}{{r.ReferrerID, "referrer", p.Config.ReferrerPoints}, {r.ReferredID, "referred", p.Config.ReferredPoints}} {
			if g.points <= 0 {
				continue
			}
			if _, _, err := p.Points.Credit(ctx, g.customerID, PointsEntry(r, g.side), int64(g.points), points.Referral, "ご紹介"); err != nil {
				return out, fmt.Errorf("referral points for %s: %w", g.customerID, err)
			}
		}
	}
	return out, nil
}

// thank decides the referrer's thank-you and queues it while it is pending.
func (p *Program) thank(ctx context.Context, referrer *customer.Customer, r referral.Referral) (message.Key, error) {
	now := p.Now()
	key := ThankYouKey(r)
	job := message.Job{Key: key, Kind: message.Referral, CustomerID: referrer.ID, Rank: referrer.Rank, QueuedAt: now}
	rec := message.Record{Key: key, Kind: message.Referral, CustomerID: referrer.ID, Rank: referrer.Rank, Status: message.Queued,
		CreatedAt: now, UpdatedAt: now, Job: &job}
	sends, err := flow.CapSends(ctx, p.Ledger, referrer, p.Policy, now)
	if err != nil {
		return "", err
	}
	recent := delivery.RecentSends(sends, func(k message.Key) bool { return k == key })
	stop, stopped := p.Policy.Topics.Stops(referrer, message.Referral)
	switch {
	case p.Policy.InControlGroup(referrer.ID):
		rec.Status, rec.Reason, rec.Job = message.HeldOut, "in the global control group", nil
	case stop:
		rec.Status, rec.Reason, rec.Job = message.Skipped, stopped, nil
	default:
		if d := p.Policy.CapFor(referrer).ApplyCap(recent, []message.Kind{message.Referral}, now)[0]; !d.Allowed {
			rec.Status, rec.Reason, rec.Job = message.Suppressed, d.Reason, nil
		}
	}
	onRecord, created, err := flow.Decide(ctx, p.Ledger, rec, p.Policy.CapChange(sends, rec))
	if err != nil {
		return "", fmt.Errorf("thank %s for a referral: %w", referrer.ID, err)
	}
	job, ok := onRecord.Pending()
	if ok && !created {
		// Decided by an earlier delivery, which may have stopped before
		// queueing it: queued again once its job is stale (as orders do), so
		// a storm of retries queues nothing twice.
		if now.Sub(onRecord.Due()) < flow.StaleAfter {
			return key, nil
		}
		switch err := p.Ledger.Requeued(ctx, onRecord, now, false); {
		case errors.Is(err, domain.ErrConflict):
			return key, nil // claimed meanwhile: on its way
		case err != nil:
			return "", err
		}
	}
	if ok {
		if err := p.Queue.Enqueue(ctx, job); err != nil {
			return "", fmt.Errorf("queue the referral thank-you %s: %w", key, err)
		}
	}
	return key, nil
}
