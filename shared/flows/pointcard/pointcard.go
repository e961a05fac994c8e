// Package pointcard is the points card's own flow: staff adjustments, credits
// from elsewhere (a referral), and the card's history. Orders earn and spend
// points in the order flow, and the daily run expires them and reminds.
package pointcard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/points"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// Ledger is what the card's flow reads and writes.
type Ledger interface {
	Customer(ctx context.Context, id string) (*customer.Customer, error)
	CommitPoints(ctx context.Context, c *customer.Customer, entries ...points.Entry) error
	PointsOf(ctx context.Context, customerID string) ([]points.Entry, error)
}

// Book keeps customers' points cards.
type Book struct {
	flow.Env
	Ledger Ledger
	Config *points.Config // nil: the shop has no points card
}

// MaxNoteLength bounds a staff note or a credit's note.
const MaxNoteLength = 500

// Card is a customer's card as staff see it: the balance, the lots, and every entry, oldest first.
type Card struct {
	CustomerID string               `json:"customer_id"`
	Timezone   string               `json:"timezone"`
	Balance    int64                `json:"balance"`
	Lots       []customer.PointsLot `json:"lots"`
	Entries    []points.Entry       `json:"entries"`
}

// Card reads a customer's card.
func (b *Book) Card(ctx context.Context, customerID string) (*Card, error) {
	c, err := b.Ledger.Customer(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("points of %s: %w", customerID, err)
	}
	es, err := b.Ledger.PointsOf(ctx, customerID)
	if err != nil {
		return nil, err
	}
	return &Card{CustomerID: c.ID, Timezone: c.Location().String(), Balance: c.Points.Balance, Lots: c.Points.Lots, Entries: es}, nil
}

// Adjust is a staff correction of n points (negative takes points away,
// oldest first). It needs a reason, which the entry keeps, and may not take
// the balance below zero.
func (b *Book) Adjust(ctx context.Context, customerID string, n int64, reason string) (points.Entry, error) {
	if strings.TrimSpace(reason) == "" {
		return points.Entry{}, domain.Invalidf("points adjust: a reason is required (it is kept with the entry)")
	}
	// A staff adjustment is its own occasion: its id is its instant.
	id := points.EntryID(points.Adjust, b.Now().UTC().Format("20060102T150405.000000000Z"))
	return b.move(ctx, customerID, id, points.Adjust, n, reason)
}

// Credit gives a customer points for a reason other than an order (a
// referral, say), once per entry id: a retry with the same id credits
// nothing and returns the entry on record with duplicate set.
func (b *Book) Credit(ctx context.Context, customerID, entryID string, n int64, reason points.Reason, note string) (e points.Entry, duplicate bool, err error) {
	switch {
	case !reason.Valid() || reason == points.Earn || reason == points.Redeem || reason == points.Expire:
		return points.Entry{}, false, domain.Invalidf("points credit: reason %q; want adjust or referral (orders earn and redeem, the daily run expires)", reason)
	case n <= 0:
		return points.Entry{}, false, domain.Invalidf("points credit: %d; want 1 or more points", n)
	}
	if err := customer.ValidID("entry_id", entryID); err != nil {
		return points.Entry{}, false, err
	}
	id := points.EntryID(reason, entryID)
	e, err = b.move(ctx, customerID, id, reason, n, note)
	if errors.Is(err, domain.ErrDuplicate) {
		es, lerr := b.Ledger.PointsOf(ctx, customerID)
		if lerr != nil {
			return points.Entry{}, true, lerr
		}
		for _, prev := range es {
			if prev.ID == id {
				return prev, true, nil
			}
		}
		return points.Entry{}, true, nil
	}
	return e, false, err
}

func (b *Book) move(ctx context.Context, customerID, id string, r points.Reason, n int64, note string) (points.Entry, error) {
	if b.Config == nil {
		return points.Entry{}, domain.Invalidf("points: the shop has no points card (templates/points.yaml)")
	}
	if utf8.RuneCountInString(note) > MaxNoteLength {
		return points.Entry{}, domain.Invalidf("points: the note is longer than %d characters", MaxNoteLength)
	}
	var e points.Entry
	err := flow.RetryConflicts(ctx, func() error {
		c, err := b.Ledger.Customer(ctx, customerID)
		if err != nil {
			return err
		}
		now := b.Now()
		if e, err = b.Config.Move(c, id, r, n, note, now); err != nil {
			return err
		}
		// The card's new dates may come before the customer's next visit.
		if due := c.Points.Due(plan.DayOf(now, c.Location()).String()); due != "" && (c.NextDue == "" || due < c.NextDue) {
			c.NextDue = due
		}
		return b.Ledger.CommitPoints(ctx, c, e)
	})
	if err != nil {
		return points.Entry{}, fmt.Errorf("points of %s: %w", customerID, err)
	}
	b.Logger().InfoContext(ctx, "points moved", "customer_id", customerID, "entry_id", id, "reason", r, "points", n, "balance", e.Balance)
	return e, nil
}

// Zoned is t as a date and time in the customer's zone, for the card's history.
func Zoned(t time.Time, tz string) string {
	return t.In((&customer.Customer{Timezone: tz}).Location()).Format("2006-01-02 15:04")
}
