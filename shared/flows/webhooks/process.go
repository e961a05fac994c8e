// Package webhooks applies what customers and providers tell daifuku: LINE
// events (follows, messages, button taps), SendGrid events (deliveries,
// opens, bounces, unsubscribes), email replies, the email feedback form and
// one-click unsubscribes. The API verifies a webhook request, stores its
// events as a batch and answers at once (Acceptor); a worker behind a queue
// applies each event to the ledger exactly once (Processor): its marker is
// written in the same transaction as its effects.
package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/domain/webhook"
	"github.com/daifuku/daifuku/shared/flows/flow"
	"github.com/daifuku/daifuku/shared/flows/referrals"
)

// Ledger is what the worker reads and writes.
type Ledger interface {
	Batch(ctx context.Context, id string) (*webhook.Batch, error)
	FinishBatch(ctx context.Context, id string, at time.Time) error
	Apply(ctx context.Context, e webhook.Effects) error
	Seen(ctx context.Context, marker string) (bool, error)
	Customer(ctx context.Context, id string) (*customer.Customer, error)
	SaveCustomer(ctx context.Context, c *customer.Customer) error
	CustomerByLINE(ctx context.Context, userID string) (*customer.Customer, error)
	CustomerByEmail(ctx context.Context, addr string) (*customer.Customer, error)
	Message(ctx context.Context, key message.Key) (*message.Record, error)
	MessagesOf(ctx context.Context, customerID string, limit int32) ([]message.Record, error)
	MessageByReplyToken(ctx context.Context, token string) (*message.Record, error)
	FeedbackOf(ctx context.Context, customerID string) ([]feedback.Feedback, error)
}

// Replier answers a LINE event on the spot (a reply token, not a push).
type Replier interface {
	Reply(ctx context.Context, replyToken string, msgs ...*render.LINE) error
}

// Processor applies stored webhook batches to the ledger.
type Processor struct {
	flow.Env
	Ledger Ledger
	Rules  *rank.Rules
	Plans  *plan.Plans // nil: no plans (new prospects get no next due date)
	Script *feedback.Script
	// Topics are what customers may stop hearing about (配信設定).
	Topics delivery.Topics
	// Suppressions takes a customer who restarts a topic off its SendGrid
	// group's suppression list; nil: not done (no SendGrid).
	Suppressions Suppressions
	// DecodeLINE and DecodeMail read stored LINE and SendGrid events (the
	// adapters know the providers' formats).
	DecodeLINE func(raw []byte) (webhook.LINEEvent, error)
	DecodeMail func(raw []byte) (webhook.MailEvent, error)
	// LINE answers feedback buttons; nil: no follow-up questions.
	LINE Replier
	// Forward passes email replies on to the shop's support inbox; nil: not forwarded.
	Forward func(ctx context.Context, m webhook.InboundMail, r Reply) error
	// Welcome runs a new friend's plan at once (the day-0 welcome); nil: the daily run does.
	Welcome func(ctx context.Context, customerID string, now time.Time) error
	// Events records answers to event invitations; nil: their buttons are ignored.
	Events RSVPs
	// Referrals gives new friends a referral code and credits a code sent
	// in the chat (「紹介コード: K7Q2MX」); nil: no referrals.
	Referrals Referrals
}

// Referrals is the referral programme, as LINE events reach it.
type Referrals interface {
	FromLINE(ctx context.Context, customerID, code, event string) (referrals.Outcome, error)
	Ensure(ctx context.Context, customerID string) (string, error)
}

// Stats count what processing a batch did.
type Stats struct {
	Applied, Repeated, Ignored int
}

// Process applies every event of a stored batch once.
func (p *Processor) Process(ctx context.Context, id string) error {
	_, err := p.ProcessStats(ctx, id)
	return err
}

// ProcessStats is Process, reporting what it did.
func (p *Processor) ProcessStats(ctx context.Context, id string) (Stats, error) {
	var st Stats
	b, err := p.Ledger.Batch(ctx, id)
	if err != nil {
		return st, err
	}
	if b.Status == webhook.Done {
		return st, nil
	}
	for i, raw := range b.Events {
		var applied bool
		var err error
		switch b.Source {
		case webhook.LINE:
			applied, err = p.lineEvent(ctx, []byte(raw))
		case webhook.SendGrid:
			applied, err = p.mailEvent(ctx, []byte(raw))
		case webhook.Inbound:
			applied, err = p.inboundMail(ctx, []byte(raw))
		default:
			return st, fmt.Errorf("batch %s: unknown source %q", id, b.Source)
		}
		switch {
		case errors.Is(err, webhook.ErrSeen):
			st.Repeated++
		case err != nil:
			return st, fmt.Errorf("batch %s event %d: %w", id, i, err)
		case applied:
			st.Applied++
		default:
			st.Ignored++
		}
	}
	if err := p.Ledger.FinishBatch(ctx, id, p.Now()); err != nil {
		return st, err
	}
	p.Logger().InfoContext(ctx, "webhook batch processed", "batch_id", id, "source", b.Source,
		"applied", st.Applied, "repeated", st.Repeated, "ignored", st.Ignored)
	return st, nil
}

// apply builds an event's effects and writes them, building them again from
// a fresh read when the customer or message changed meanwhile.
func (p *Processor) apply(ctx context.Context, build func() (*webhook.Effects, error)) (applied bool, err error) {
	err = flow.RetryConflicts(ctx, func() error {
		e, err := build()
		if err != nil || e == nil {
			applied = false
			return err
		}
		e.At = p.Now()
		if err := p.Ledger.Apply(ctx, *e); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// engage marks a message as answered (or otherwise engaged with) in e.
func (p *Processor) engage(e *webhook.Effects, rec *message.Record, event string, at time.Time) bool {
	if rec == nil {
		return false
	}
	was, before := rec.UpdatedAt, *rec
	if !rec.Observe(event, at) || *rec == before {
		return false // unknown, or nothing to record (a processed event on a message already sent)
	}
	rec.UpdatedAt = p.Now()
	e.Message, e.MessageWas = rec, was
	e.Milestones = append(e.Milestones, message.Milestones(&before, rec)...)
	return true
}
