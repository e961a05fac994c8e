package api_test

import (
	"context"
	"testing"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/flows/webhooks"
)

// A friend whose first event is a message (their follow lost, or still on
// its way) becomes a prospect with LINE consent: the consent is recorded,
// once, even when the follow arrives after.
func TestAFriendWhoSpeaksBeforeTheFollowHasAConsentRecord(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.sendLINE(t, lineEvent("M1", sampleAt, map[string]any{"type": "message",
		"message": map[string]any{"type": "text", "id": "m1", "quoteToken": "q", "text": "こんにちは"}}))
	k.sendLINE(t, lineEvent("F1", sampleAt.Add(-1), map[string]any{"type": "follow", "follow": map[string]any{"isUnblocked": false}}))
	recs, err := k.Store.ConsentOf(context.Background(), webhooks.ProspectID(sampleUser))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Channel != customer.LINE || !recs[0].Consent || recs[0].How != customer.ByLINEFollow {
		t.Errorf("consent records %+v; want one: LINE given, by the follow", recs)
	}
}
