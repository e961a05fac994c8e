package sendgrid_test

import (
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/adapters/sendgrid"
	"github.com/daifuku/daifuku/shared/domain/webhook"
)

func TestDecodeEvent(t *testing.T) {
	ev, err := sendgrid.DecodeEvent([]byte(`{"email":" Hanako@Example.JP ","timestamp":1795395600,"event":"bounce","type":"blocked","sg_event_id":"e1","message_key":"thank-you|C1|order:O-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := webhook.MailEvent{ID: "e1", Type: "bounce", Email: "hanako@example.jp", At: time.Unix(1795395600, 0).UTC(),
		MessageKey: "thank-you|C1|order:O-1", BounceType: "blocked"}
	if ev != want {
		t.Errorf("got %+v\nwant %+v", ev, want)
	}
	// No sg_event_id (SendGrid's unique-args sample): an id from the content, the same every time.
	a, _ := sendgrid.DecodeEvent([]byte(`{"event":"click","userid":"1123"}`))
	b, _ := sendgrid.DecodeEvent([]byte(`{"event":"click","userid":"1123"}`))
	if a.ID == "" || a.ID != b.ID {
		t.Errorf("ids %q %q", a.ID, b.ID)
	}
	// A message_key that is not a string is not ours.
	if ev, _ := sendgrid.DecodeEvent([]byte(`{"event":"open","message_key":12}`)); ev.MessageKey != "" {
		t.Errorf("key %q", ev.MessageKey)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"email":"a@b.c","timestamp":1,"event":"open","sg_event_id":"x","message_key":"k"}`))
	f.Add([]byte(`{"timestamp":1.5e99}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := sendgrid.DecodeEvent(raw)
		if err == nil && ev.ID == "" {
			t.Fatalf("%q decoded without an id", raw)
		}
	})
}
