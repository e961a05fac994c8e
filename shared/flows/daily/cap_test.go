package daily_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/edge/app"
)

// capRig is a rig whose daily run and campaigns run on a client that counts
// what they ask of DynamoDB.
type capRig struct {
	*testrig.Rig
	app *app.App
	ops *testrig.Ops
}

func newCapRig(t *testing.T) *capRig {
	r := testrig.New(t)
	deps := r.Deps
	var ops *testrig.Ops
	deps.DB, ops = testrig.Counting(r.DB)
	a := app.New(deps)
	a.Campaigns.Sleep = r.Campaigns.Sleep
	return &capRig{Rig: r, app: a, ops: ops}
}

// newsletter sends a campaign to everyone at the rig's time and returns
// the status it decided for customer id.
func (r *capRig) newsletter(t *testing.T, id, customerID string) message.Status {
	t.Helper()
	ctx := context.Background()
	now := r.Clock.Now()
	c := campaign.Campaign{ID: id, Title: id, SendAt: now.Add(-time.Minute), Audience: campaign.Audience{All: true},
		Templates: map[string]string{"default": "newsletter/2026-winter-default"}}
	if err := r.Store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := r.app.Campaigns.SendDue(ctx, now); err != nil {
		t.Fatal(err)
	}
	rec, err := r.Store.Message(ctx, message.CampaignKey(customerID, id))
	if err != nil {
		t.Fatal(err)
	}
	return rec.Status
}

// capSends is the customer's record of what counts against the cap, as stored.
func (r *capRig) capSends(t *testing.T, id string) map[string]customer.CapSend {
	t.Helper()
	c, err := r.Store.Customer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.CapSends
}

// At most three messages in seven days, counted from the record on the
// customer whichever flow decided them (plan steps, newsletters), with no
// query of the messages: the fourth is held back, and a week later there is
// room again. A re-run decides as the run did.
func TestFrequencyCapCountsFromTheCustomersRecord(t *testing.T) {
	t.Parallel()
	r := newCapRig(t)
	ctx := context.Background()
	r.Clock.Set(morning("2026-12-01"))
	p := lineFriend("P1")
	p.SignedUpAt = morning("2026-12-01") // welcome today, the day-3 step on 12-04
	put(t, r.Rig, p)
	rep, err := r.app.Daily.Run(ctx, r.Clock.Now(), false)
	if err != nil || decided(rep) != "P1:prospect/welcome:queued" {
		t.Fatalf("first run decided %q (%v), want the welcome queued", decided(rep), err)
	}
	r.Clock.Set(morning("2026-12-02"))
	if st := r.newsletter(t, "a", "P1"); st != message.Queued {
		t.Fatalf("newsletter %s, want queued", st)
	}
	r.Clock.Set(morning("2026-12-04"))
	rep, err = r.app.Daily.Run(ctx, r.Clock.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := decided(rep); got != "P1:prospect/tips:queued" {
		t.Fatalf("run decided %q, want the third message of the week queued", got)
	}
	// A re-run of the day (as if the run had stopped before it saved the
	// customer) weighs the same messages, its own left out.
	c, err := r.Store.Customer(ctx, "P1")
	if err != nil {
		t.Fatal(err)
	}
	c.NextDue = "2026-12-04"
	if err := r.Store.SaveCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	again, err := r.app.Daily.Run(ctx, r.Clock.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := decided(again); got != "P1:prospect/tips:queued" {
		t.Errorf("re-run decided %q, want as the run did", got)
	}
	if got := len(r.capSends(t, "P1")); got != 3 {
		t.Errorf("record holds %d messages after the run saved the customer, want 3", got)
	}

	r.Clock.Set(morning("2026-12-05"))
	if st := r.newsletter(t, "c", "P1"); st != message.Suppressed {
		t.Errorf("fourth message in a week %s, want suppressed", st)
	}
	// A week after the first two, there is room again, and they leave the record.
	r.Clock.Set(morning("2026-12-10"))
	if st := r.newsletter(t, "d", "P1"); st != message.Queued {
		t.Errorf("newsletter after the window %s, want queued", st)
	}
	sends := r.capSends(t, "P1")
	welcome := message.NewKey(message.Step, "P1", "plan:prospect:welcome:2026-12-01")
	if _, ok := sends[string(welcome)]; ok {
		t.Errorf("record %v still holds the welcome", sends)
	}
	for _, k := range []message.Key{message.CampaignKey("P1", "a"), message.CampaignKey("P1", "c")} {
		if _, ok := sends[string(k)]; ok {
			t.Errorf("record still holds %s", k)
		}
	}
	for _, k := range []message.Key{message.NewKey(message.Step, "P1", "plan:prospect:tips:2026-12-01"), message.CampaignKey("P1", "d")} {
		if _, ok := sends[string(k)]; !ok {
			t.Errorf("record %v lacks %s", sends, k)
		}
	}
	if n := r.ops.On("Query", r.Tables.Messages); n != 0 {
		t.Errorf("%d queries of the messages table, want none", n)
	}
}

// A customer stored before the record was kept has their messages read
// once: the first message that counts writes the record whole, with what
// they received before, and later decisions read it from the customer.
func TestFrequencyCapOfACustomerStoredBeforeTheRecord(t *testing.T) {
	t.Parallel()
	r := newCapRig(t)
	ctx := context.Background()
	r.Clock.Set(morning("2026-12-01"))
	p := lineFriend("P2")
	p.SignedUpAt = morning("2026-12-01")
	put(t, r.Rig, p)
	if _, err := r.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &r.Tables.Customers,
		Key:              map[string]types.AttributeValue{"customer_id": &types.AttributeValueMemberS{Value: "P2"}},
		UpdateExpression: strPtr("REMOVE cap_sends")}); err != nil {
		t.Fatal(err)
	}
	if sends := r.capSends(t, "P2"); sends != nil {
		t.Fatalf("record %v, want none", sends)
	}
	// Recorded before the record was kept: one message this week, one before.
	for _, day := range []string{"2026-11-30", "2026-11-20"} {
		rec := message.Record{Key: message.NewKey(message.Newsletter, "P2", day), Kind: message.Newsletter, CustomerID: "P2",
			Status: message.Sent, CreatedAt: morning(day)}
		if _, err := r.Store.CreateMessage(ctx, rec, delivery.CapChange{}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := r.app.Daily.Run(ctx, r.Clock.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := decided(rep); got != "P2:prospect/welcome:queued" {
		t.Fatalf("run decided %q, want the welcome queued", got)
	}
	if n := r.ops.On("Query", r.Tables.Messages); n != 1 {
		t.Errorf("%d queries of the messages table, want one", n)
	}
	if got := len(r.capSends(t, "P2")); got != 2 {
		t.Errorf("record holds %d messages, want this week's one before it and the welcome", got)
	}
	r.ops.Reset()
	r.Clock.Set(morning("2026-12-02"))
	if st := r.newsletter(t, "b", "P2"); st != message.Queued {
		t.Errorf("third message in a week %s, want queued", st)
	}
	r.Clock.Set(morning("2026-12-03"))
	if st := r.newsletter(t, "c", "P2"); st != message.Suppressed {
		t.Errorf("fourth message in a week %s, want suppressed", st)
	}
	if n := r.ops.On("Query", r.Tables.Messages); n != 0 {
		t.Errorf("%d queries of the messages table once the record is kept, want none", n)
	}
}

// An import of a customer already in the ledger changes their profile and
// leaves their record of what counts against the cap as it was.
func TestImportKeepsTheCapRecord(t *testing.T) {
	t.Parallel()
	r := newCapRig(t)
	ctx := context.Background()
	r.Clock.Set(morning("2026-12-01"))
	put(t, r.Rig, lineFriend("P3"))
	r.Clock.Set(morning("2026-12-02"))
	if st := r.newsletter(t, "a", "P3"); st != message.Queued {
		t.Fatalf("newsletter %s, want queued", st)
	}
	if _, err := r.Intake.ImportCustomer(ctx, &customer.Customer{ID: "P3", Name: "新しい 名前", Consent: customer.Consent{LINE: true, Email: true}}); err != nil {
		t.Fatal(err)
	}
	c, err := r.Store.Customer(ctx, "P3")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.CapSends[string(message.CampaignKey("P3", "a"))]; !ok || c.Name != "新しい 名前" {
		t.Errorf("after the import: name %q, record %v; want the new name and the newsletter kept", c.Name, c.CapSends)
	}
}

func strPtr(s string) *string { return &s }
