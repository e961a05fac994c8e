package local_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/templates"
)

// startEnv brings up a local environment on the tests' DynamoDB Local, with
// no visibility delay and the given clock.
func startEnv(t *testing.T, clock *testrig.Clock, prefix string) *local.Env {
	t.Helper()
	t.Setenv("LINE_CHANNEL_ACCESS_TOKEN", "")
	t.Setenv("SENDGRID_API_KEY", "")
	c, err := content.LoadContent(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	env, err := local.Start(context.Background(), local.Options{Dir: t.TempDir(), DynamoDB: dynamolocal.TestEndpoint(t),
		Prefix: prefix, Content: c, Clock: clock.Now, Visibility: -1, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env
}

// A campaign of more than 1,010 jobs is sent locally to the last one, and
// is sent (all settled) when the drain ends.
func TestALargeCampaignIsSentLocallyToTheLast(t *testing.T) {
	clock := &testrig.Clock{}
	clock.Set(morning)
	env := startEnv(t, clock, fmt.Sprintf("large%d-", time.Now().UnixNano()))
	ctx := context.Background()
	const n = 1020
	var cs []*customer.Customer
	for i := range n {
		cs = append(cs, &customer.Customer{ID: fmt.Sprintf("E%05d", i), Email: fmt.Sprintf("e%05d@example.jp", i), Rank: "prospect",
			Consent: customer.Consent{Email: true}})
	}
	if err := env.Store.PutCustomers(ctx, cs); err != nil {
		t.Fatal(err)
	}
	c := campaign.Campaign{ID: "large", SendAt: morning, Audience: campaign.Audience{All: true},
		Templates: map[string]string{"default": "newsletter/2026-winter-default"}}
	if err := env.Store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	s := local.NewSummary()
	reps, err := env.Campaigns.SendDue(ctx, clock.Now())
	if err != nil || len(reps) != 1 || reps[0].Email != n {
		t.Fatalf("%+v %v", reps, err)
	}
	if err := env.Finish(ctx, s); err != nil {
		t.Fatal(err)
	}
	p, err := env.Campaigns.Progress(ctx, "large")
	if err != nil {
		t.Fatal(err)
	}
	if p.Messages[message.Sent]["email"] != n || p.InFlight() != 0 || p.State.Status != campaign.Sent || len(s.Completed) != 1 {
		t.Errorf("progress %v, status %s; want all %d sent and the campaign sent", p.Messages, p.State.Status, n)
	}
	if got := len(env.Capture.Requests("email")); got != n {
		t.Errorf("%d emails, want %d", got, n)
	}
}

// A job that fails every try ends in the local dead-letter list; its message
// stays in flight, the summary says so, and the next run sends it, once.
func TestALocalFailureIsSentByTheNextRun(t *testing.T) {
	clock := &testrig.Clock{}
	clock.Set(morning)
	prefix := fmt.Sprintf("fail%d-", time.Now().UnixNano())
	env := startEnv(t, clock, prefix)
	ctx := context.Background()
	env.Capture.SetFault(func(w http.ResponseWriter, _ *http.Request, _ []byte) bool {
		w.WriteHeader(http.StatusInternalServerError)
		return true
	})
	res, err := env.Intake.RecordOrder(ctx, customer.Order{ID: "O1", CustomerID: "C1", Total: 3800, OrderedAt: clock.Now(),
		Contact: customer.Contact{Email: "c1@example.jp"}})
	if err != nil {
		t.Fatal(err)
	}
	s := local.NewSummary()
	if err := env.Finish(ctx, s); err != nil {
		t.Fatal(err)
	}
	if s.DeadJobs != 1 {
		t.Fatalf("%d dead jobs, want the failing one", s.DeadJobs)
	}
	rec, _ := env.Store.Message(ctx, message.Key(res.ThankYou))
	if rec.Status != message.Retry {
		t.Fatalf("status %s, want retry (in flight)", rec.Status)
	}

	// The next run, the provider back: recovered and sent once.
	next := startEnv(t, clock, prefix)
	s = local.NewSummary()
	if err := next.Recover(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := next.Finish(ctx, s); err != nil {
		t.Fatal(err)
	}
	rec, _ = next.Store.Message(ctx, message.Key(res.ThankYou))
	if s.Recovered.Requeued != 1 || rec.Status != message.Sent || len(next.Capture.Requests("email")) != 1 {
		t.Errorf("recovered %+v, status %s, %d emails; want it sent once", s.Recovered, rec.Status, len(next.Capture.Requests("email")))
	}
}
