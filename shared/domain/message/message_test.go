package message_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/message"
)

func TestKeysAreDeterministic(t *testing.T) {
	a := message.NewKey(message.ThankYou, "C1", "order:O1")
	b := message.NewKey(message.ThankYou, "C1", "order:O1")
	if a != b || a.RetryKey() != b.RetryKey() {
		t.Errorf("same occasion, different keys: %s %s", a, b)
	}
	for _, other := range []message.Key{
		message.NewKey(message.ThankYou, "C1", "order:O2"),
		message.NewKey(message.ThankYou, "C2", "order:O1"),
		message.NewKey(message.Birthday, "C1", "order:O1"),
	} {
		if other == a || other.RetryKey() == a.RetryKey() {
			t.Errorf("%s and %s collide", a, other)
		}
	}
	// LINE wants a UUID in X-Line-Retry-Key.
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a.RetryKey()) {
		t.Errorf("retry key %q is not a UUIDv5", a.RetryKey())
	}
}

func TestJobValidate(t *testing.T) {
	ok := message.Job{Key: "k", Kind: message.ThankYou, CustomerID: "C1"}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
	for _, bad := range []message.Job{
		{Kind: message.ThankYou, CustomerID: "C1"},
		{Key: "k", Kind: "thanks", CustomerID: "C1"},
		{Key: "k", Kind: message.ThankYou},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v passed validation", bad)
		}
	}
}

func TestSettled(t *testing.T) {
	for st, want := range map[message.Status]bool{
		message.Queued: false, message.Sending: false, message.Retry: false,
		message.Sent: true, message.Skipped: true, message.Failed: true, message.Ambiguous: true, message.Delivered: true,
	} {
		if st.Settled() != want {
			t.Errorf("%s.Settled() = %v", st, !want)
		}
	}
}

// An email whose send timed out is settled by SendGrid's word: processed,
// deferred or delivered mean it was taken; dropped or bounced end it.
func TestAmbiguousEmailIsSettledByTheProvidersEvent(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for event, want := range map[string]message.Status{
		message.EvProcessed: message.Sent, message.EvDeferred: message.Sent, message.EvDelivered: message.Delivered,
		message.EvDropped: message.Dropped, message.EvBounce: message.BouncedMsg,
	} {
		r := &message.Record{Status: message.Ambiguous, RecheckAt: at.Add(30 * time.Minute)}
		r.Observe(event, at)
		if r.Status != want || !r.RecheckAt.IsZero() || !r.Due().IsZero() {
			t.Errorf("%s: status %s recheck %v due %v, want %s and nothing left to recheck", event, r.Status, r.RecheckAt, r.Due(), want)
		}
	}
	// A sent message stays sent on a late processed event.
	r := &message.Record{Status: message.Delivered}
	r.Observe(message.EvProcessed, at)
	if r.Status != message.Delivered {
		t.Errorf("delivered became %s", r.Status)
	}
}
