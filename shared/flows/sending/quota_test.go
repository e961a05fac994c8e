package sending_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

var tokyo, _ = time.LoadLocation("Asia/Tokyo")

// quotaUsedUp makes the LINE stand-in refuse every message as LINE does when
// the channel's monthly message quota is used up; it counts LINE requests.
func quotaUsedUp(r *testrig.Rig) *atomic.Int32 {
	var calls atomic.Int32
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, _ []byte) bool {
		if !strings.HasPrefix(req.URL.Path, "/v2/bot/message/") {
			return false
		}
		calls.Add(1)
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"message":"You have reached your monthly limit."}`))
		return true
	})
	return &calls
}

// LINE's monthly quota is used up: LINE is paused for every sender until the
// month turns (in Japan); a customer who agreed to email gets the message by
// email at once; one reachable only on LINE waits, deferred with the reason,
// and is sent when the month turns. Nobody is asked of LINE again meanwhile.
func TestLINEQuotaPausesLINEFallsBackToEmailAndDefersTheRest(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	calls := quotaUsedUp(r)

	both := seed(t, r, lineCustomer("C1"), 0, 3800)
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("%d jobs failed; a quota refusal is no failure to retry", failed)
	}
	lineOnly := &customer.Customer{ID: "C2", Name: "木村 蒼", LINEUserID: lineUser, PreferredChannel: customer.LINE,
		Consent: customer.Consent{LINE: true}}
	waits := seed(t, r, lineOnly, 0, 3800)
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("%d jobs failed", failed)
	}

	if rec := record(t, r, both); rec.Status != message.Sent || rec.Channel != customer.Email {
		t.Errorf("C1 (email too): %s on %s, want sent by email", rec.Status, rec.Channel)
	}
	if n := len(r.Capture.Requests("email")); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
	monthTurns := time.Date(2026, 12, 1, 0, 0, 0, 0, tokyo)
	rec := record(t, r, waits)
	if rec.Status != message.Deferred || !rec.NotBefore.Equal(monthTurns) || !strings.Contains(rec.Reason, "quota") {
		t.Errorf("C2 (LINE only): %s until %v (%q), want deferred until %v for the quota", rec.Status, rec.NotBefore, rec.Reason, monthTurns)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d LINE requests; after the first refusal LINE is paused and asked nothing more", n)
	}
	if p, err := r.Store.Pause(ctx, customer.LINE); err != nil || !p.Until.Equal(monthTurns) {
		t.Errorf("stored pause %+v (%v), want LINE paused until %v", p, err, monthTurns)
	}

	// The month turns; the quota is back.
	r.Capture.SetFault(nil)
	r.Clock.Set(monthTurns.Add(30 * time.Minute))
	if n, err := r.Daily.Release(ctx, r.Store, r.Clock.Now()); err != nil || n != 1 {
		t.Fatalf("released %d (%v), want the deferred message", n, err)
	}
	r.SendQueued(t)
	if rec := record(t, r, waits); rec.Status != message.Sent || rec.Channel != customer.LINE {
		t.Errorf("C2 after the month turned: %s on %s, want sent on LINE", rec.Status, rec.Channel)
	}
}
