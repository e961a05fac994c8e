package delivery_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
)

func TestCapChange(t *testing.T) {
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, tokyo)
	p := delivery.Policy{Cap: delivery.Cap{Max: 3, Days: 7}}
	sends := map[string]customer.CapSend{
		"old":   {At: now.AddDate(0, 0, -7), Kind: "newsletter"}, // as old as the window: out
		"fresh": {At: now.AddDate(0, 0, -7).Add(time.Second).UTC(), Kind: "step"},
		"this":  {At: now, Kind: "step"}, // recorded by an earlier run
	}
	tests := []struct {
		name     string
		rec      message.Record
		wantKeep []string
		wantDrop []string
	}{
		{"a queued step counts and drops what left the window",
			message.Record{Key: "this", Kind: message.Step, Status: message.Queued, CreatedAt: now}, []string{"fresh"}, []string{"old"}},
		{"a deferred newsletter counts",
			message.Record{Key: "n", Kind: message.Newsletter, Status: message.Deferred, CreatedAt: now}, []string{"fresh", "this"}, []string{"old"}},
		{"a suppressed step does not count", message.Record{Key: "s", Kind: message.Step, Status: message.Suppressed, CreatedAt: now}, nil, nil},
		{"a held-out step does not count", message.Record{Key: "h", Kind: message.Step, Status: message.HeldOut, CreatedAt: now}, nil, nil},
		{"a thank-you never counts", message.Record{Key: "t", Kind: message.ThankYou, Status: message.Queued, CreatedAt: now}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := p.CapChange(sends, tt.rec)
			if ch.Changes() != (tt.wantKeep != nil) {
				t.Fatalf("changes %v", ch.Changes())
			}
			if !ch.Changes() {
				return
			}
			if ch.Key != tt.rec.Key || !ch.Send.At.Equal(now) || ch.Send.Kind != string(tt.rec.Kind) {
				t.Errorf("adds %s %+v", ch.Key, ch.Send)
			}
			keep := slices.Sorted(maps.Keys(ch.Keep))
			if !slices.Equal(keep, tt.wantKeep) || !slices.Equal(ch.Drop, tt.wantDrop) {
				t.Errorf("keeps %v and drops %v, want %v and %v", keep, ch.Drop, tt.wantKeep, tt.wantDrop)
			}
		})
	}
}

func TestRecentSendsLeaveOutWhatIsBeingDecided(t *testing.T) {
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	sends := map[string]customer.CapSend{"a": {At: now, Kind: "step"}, "b": {At: now, Kind: "newsletter"}}
	got := delivery.RecentSends(sends, func(k message.Key) bool { return k == "a" })
	if len(got) != 1 || got[0].Kind != message.Newsletter {
		t.Errorf("recent %v, want b alone", got)
	}
	if got := delivery.RecentSends(nil, nil); len(got) != 0 {
		t.Errorf("recent of no record %v", got)
	}
}

func TestCapSendsOfMessages(t *testing.T) {
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	recs := []*message.Record{
		{Key: "sent", Kind: message.Step, Status: message.Sent, CreatedAt: now},
		{Key: "failed", Kind: message.Step, Status: message.Failed, CreatedAt: now},
		{Key: "thanks", Kind: message.ThankYou, Status: message.Sent, CreatedAt: now},
	}
	got := delivery.CapSendsOf(recs)
	if len(got) != 1 || got["sent"].Kind != "step" || !got["sent"].At.Equal(now) {
		t.Errorf("record %v, want the sent step alone", got)
	}
}
