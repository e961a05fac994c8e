// Package attribution links an order to the messages its customer received
// before it: the last touch, and every touch, each within its kind's window.
// Held-out decisions count too, as the touches a held-out customer would
// have had: an order after one is what the holdout's repurchase rate counts.
package attribution

import (
	"slices"
	"time"

	"github.com/daifuku/daifuku/shared/domain/message"
)

// DefaultDays is how long after a message an order is still its doing,
// unless its kind says otherwise.
const DefaultDays = 30

// Windows are the attribution windows by kind.
type Windows struct {
	Default time.Duration
	ByKind  map[message.Kind]time.Duration
}

// Of is the window of a kind.
func (w Windows) Of(k message.Kind) time.Duration {
	if d, ok := w.ByKind[k]; ok {
		return d
	}
	if w.Default > 0 {
		return w.Default
	}
	return DefaultDays * 24 * time.Hour
}

// Longest is the widest window: how far back an order looks.
func (w Windows) Longest() time.Duration {
	longest := w.Of("")
	for _, d := range w.ByKind {
		longest = max(longest, d)
	}
	return longest
}

// Touch is one message (or held-out decision) before an order.
type Touch struct {
	Key         message.Key  `dynamodbav:"key" json:"key"`
	Kind        message.Kind `dynamodbav:"kind" json:"kind"`
	Rank        string       `dynamodbav:"rank" json:"rank"`
	Plan        string       `dynamodbav:"plan,omitempty" json:"plan,omitempty"`
	PlanVersion int          `dynamodbav:"plan_version,omitempty" json:"plan_version,omitempty"`
	Step        string       `dynamodbav:"step,omitempty" json:"step,omitempty"`
	Template    string       `dynamodbav:"template,omitempty" json:"template,omitempty"`
	Variant     string       `dynamodbav:"variant,omitempty" json:"variant,omitempty"`
	// HeldOut: the customer was held out of this message; the order counts
	// for the holdout.
	HeldOut bool      `dynamodbav:"held_out,omitempty" json:"held_out,omitempty"`
	At      time.Time `dynamodbav:"at" json:"at"`
}

// Attribution is what an order owes to messages.
type Attribution struct {
	// LastTouch is the last message the customer received before the
	// order, within its window ("" when none: an order of its own accord).
	LastTouch message.Key `dynamodbav:"last_touch,omitempty" json:"last_touch,omitempty"`
	Touches   []Touch     `dynamodbav:"touches,omitempty" json:"touches,omitempty"`
	// Organic: no message (or held-out decision) came before the order.
	Organic bool `dynamodbav:"organic" json:"organic"`
}

// None says the order came with no message before it.
func (a Attribution) None() bool { return len(a.Touches) == 0 }

// reached is the statuses of a message the customer received.
func reached(s message.Status) bool {
	switch s {
	case message.Sent, message.Delivered, message.Opened, message.Clicked, message.Replied:
		return true
	}
	return false
}

// Of attributes an order placed at orderedAt to the customer's messages
// (any order, any age): those that reached them, or held them out, before
// it and within their kind's window, oldest first.
func Of(recs []*message.Record, orderedAt time.Time, w Windows) Attribution {
	var a Attribution
	for _, r := range recs {
		held := r.Status == message.HeldOut
		if !held && !reached(r.Status) {
			continue
		}
		at := r.SentAt
		if held || at.IsZero() {
			at = r.CreatedAt
		}
		if !at.Before(orderedAt) || orderedAt.Sub(at) > w.Of(r.Kind) {
			continue
		}
		a.Touches = append(a.Touches, Touch{Key: r.Key, Kind: r.Kind, Rank: r.Rank, Plan: r.Plan, PlanVersion: r.PlanVersion,
			Step: r.Step, Template: r.Template, Variant: r.Variant, HeldOut: held, At: at})
	}
	slices.SortFunc(a.Touches, func(x, y Touch) int { return x.At.Compare(y.At) })
	a.Organic = len(a.Touches) == 0
	for i := len(a.Touches) - 1; i >= 0; i-- {
		if !a.Touches[i].HeldOut {
			a.LastTouch = a.Touches[i].Key
			break
		}
	}
	return a
}
