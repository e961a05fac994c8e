// Package voice turns feedback into customer voice (お客様の声): the comments
// customers agreed to publish, without anything that identifies them, newest
// first, ready for a shop's web page or flyer.
package voice

import (
	"context"
	"errors"
	"fmt"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/rank"
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
	Ledger Ledger
	Rules  *rank.Rules
	Shop   string
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
