// Package voice turns feedback into customer voice (お客様の声): the comments
// customers agreed to publish, without anything that identifies them, newest
// first, ready for a shop's web page or flyer.
package voice

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// Ledger is what customer voice reads and writes.
type Ledger interface {
	Publishable(ctx context.Context, limit int) ([]feedback.Feedback, error)
	Customer(ctx context.Context, id string) (*customer.Customer, error)
	Feedback(ctx context.Context, id string) (*feedback.Feedback, error)
	SaveFeedback(ctx context.Context, f feedback.Feedback) error
}

// Voice exports testimonials.
type Voice struct {
	flow.Env
	Ledger Ledger
	Rules  *rank.Rules
	Shop   string

	mu     sync.Mutex
	quotes []render.Voice
	readAt time.Time
}

// QuotesTTL is how long the quotes messages carry are reused before they are
// read again: a withdrawal reaches the next messages within it.
const QuotesTTL = time.Minute

// Quotes are the comments a message may quote, as Testimonials gives them
// (newest first, at most render.MaxVoices, no names), read at most once a
// QuotesTTL.
func (v *Voice) Quotes(ctx context.Context) ([]render.Voice, error) {
	now := v.Now()
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.readAt.IsZero() && now.Sub(v.readAt) < QuotesTTL && !now.Before(v.readAt) {
		return v.quotes, nil
	}
	ts, err := v.Testimonials(ctx, render.MaxVoices)
	if err != nil {
		return nil, err
	}
	quotes := make([]render.Voice, 0, len(ts))
	for _, t := range ts {
		quotes = append(quotes, render.Voice{Text: t.Text, Profile: t.Profile, Rating: t.Rating,
			Date: t.At.In(customer.DefaultLocation()).Format("2006年1月")})
	}
	v.quotes, v.readAt = quotes, now
	return quotes, nil
}

// Testimonials lists what may be published, newest first (at most limit; 0: all).
func (v *Voice) Testimonials(ctx context.Context, limit int) ([]feedback.Testimonial, error) {
	fbs, err := v.Ledger.Publishable(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]feedback.Testimonial, 0, len(fbs))
	for _, f := range fbs {
		// The index is the promise; check the item too, in case it lags a withdrawal.
		if f.Testimonial != "yes" || f.Voice != feedback.Publishable {
			continue
		}
		c, err := v.Ledger.Customer(ctx, f.CustomerID)
		if errors.Is(err, domain.ErrNotFound) {
			c = &customer.Customer{} // deleted from the ledger: publish with no profile
		} else if err != nil {
			return nil, err
		}
		label := ""
		if c.Rank != "" {
			label = v.Rules.Label(rank.Rank{ID: rank.Parse(c.Rank).ID}) // "リピーター", not its lapsed side
		}
		out = append(out, feedback.Testimonial{ID: f.ID, Text: f.Text, Rating: f.Rating, At: f.At,
			Profile: feedback.Profile(c, label, f.At)})
	}
	return out, nil
}

// Withdraw takes a comment out of customer voice, as a customer's request
// to the shop asks (by phone, by mail…).
func (v *Voice) Withdraw(ctx context.Context, feedbackID string) error {
	f, err := v.Ledger.Feedback(ctx, feedbackID)
	if err != nil {
		return fmt.Errorf("withdraw %s: %w", feedbackID, err)
	}
	f.SetTestimonial(false)
	return v.Ledger.SaveFeedback(ctx, *f)
}
