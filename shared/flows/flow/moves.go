package flow

import (
	"context"
	"fmt"
	"time"

	"github.com/daifuku/daifuku/shared/domain/attribution"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/report"
)

// MoveCounter is where rank moves are counted for the report.
type MoveCounter interface {
	MessagesSince(ctx context.Context, customerID string, since time.Time) ([]*message.Record, error)
	CountOnce(ctx context.Context, key message.Key, event string, add map[string]int64) error
	CountMove(ctx context.Context, month, from, to, id string) error
}

// Touches gives the messages (and held-out decisions) within their windows
// before a rank move: read only for a move up or down.
type Touches func() ([]attribution.Touch, error)

// TouchesBefore reads a customer's touches before at from the ledger.
func TouchesBefore(ctx context.Context, l MoveCounter, w attribution.Windows, customerID string, at time.Time) Touches {
	return func() ([]attribution.Touch, error) {
		recs, err := l.MessagesSince(ctx, customerID, at.Add(-w.Longest()))
		if err != nil {
			return nil, fmt.Errorf("rank move of %s: %w", customerID, err)
		}
		return attribution.Of(recs, at, w).Touches, nil
	}
}

// CountRankMove counts a customer's move between ranks, once: in the
// month's matrix, and, for each touch before the move, as that message's
// customer moving up or down. A customer's first rank is an arrival, not a
// move.
func CountRankMove(ctx context.Context, l MoveCounter, rules *rank.Rules, customerID string, ch customer.RankChange, touches Touches) error {
	if ch.From == "" || ch.From == ch.To {
		return nil
	}
	if err := l.CountMove(ctx, report.Month(ch.At), ch.From, ch.To, customerID+"@"+ch.At.UTC().Format(time.RFC3339Nano)); err != nil {
		return err
	}
	dir := "up"
	switch rules.Direction(rank.Parse(ch.From), rank.Parse(ch.To)) {
	case 0:
		return nil
	case -1:
		dir = "down"
	}
	ts, err := touches()
	if err != nil {
		return err
	}
	for _, t := range ts {
		side := "treated"
		if t.HeldOut {
			side = "holdout"
		}
		if err := l.CountOnce(ctx, t.Key, "rank_"+dir, map[string]int64{side + "_rank_" + dir: 1}); err != nil {
			return err
		}
	}
	return nil
}
