package attribution_test

import (
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/attribution"
	"github.com/daifuku/daifuku/shared/domain/message"
)

func TestAnOrderOwesTheMessagesBeforeItWithinTheirWindows(t *testing.T) {
	order := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	rec := func(key string, kind message.Kind, st message.Status, ago time.Duration) *message.Record {
		return &message.Record{Key: message.Key(key), Kind: kind, Status: st, CreatedAt: order.Add(-ago - time.Hour), SentAt: order.Add(-ago)}
	}
	recs := []*message.Record{
		rec("step-3d", message.Step, message.Opened, 3*day),
		rec("news-10d", message.Newsletter, message.Sent, 10*day),
		rec("birthday-40d", message.Birthday, message.Delivered, 40*day), // outside the default 30 days
		rec("step-held", message.Step, message.HeldOut, 2*day),           // a held-out decision: a touch for the holdout
		rec("suppressed", message.Step, message.Suppressed, day),         // never reached them
		rec("failed", message.Step, message.Failed, day),
		rec("after", message.ThankYou, message.Sent, -time.Hour), // the order's own thank-you
		rec("lapsed-50d", message.Lapsed, message.Clicked, 50*day),
	}
	w := attribution.Windows{ByKind: map[message.Kind]time.Duration{message.Lapsed: 60 * day}}
	a := attribution.Of(recs, order, w)
	var keys []string
	for _, tc := range a.Touches {
		keys = append(keys, string(tc.Key))
	}
	want := "lapsed-50d news-10d step-3d step-held"
	if got := join(keys); got != want {
		t.Errorf("touches %q, want %q", got, want)
	}
	if a.LastTouch != "step-3d" || a.None() {
		t.Errorf("last touch %q (the held-out decision is no touch of a message)", a.LastTouch)
	}
	if none := attribution.Of(nil, order, w); !none.None() || none.LastTouch != "" {
		t.Errorf("an order with no message before it: %+v", none)
	}
	if w.Longest() != 60*day {
		t.Errorf("longest window %s", w.Longest())
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
