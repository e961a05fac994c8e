package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/api"
	"github.com/daifuku/daifuku/shared/app"
	"github.com/daifuku/daifuku/shared/customer"
	"github.com/daifuku/daifuku/shared/message"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

func readEvent(t *testing.T, name string, v any) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(src, v); err != nil {
		t.Fatal(err)
	}
}

// The same handlers Lambda runs, invoked with the events/ files sam local uses.
func TestEventFilesThroughTheFunctionHandlers(t *testing.T) {
	r := testrig.New(t)
	r.Clock.Advance(-10 * time.Hour) // 2026-11-23 00:00 UTC, so the sample orders are today's
	ctx := context.Background()

	t.Run("api POST /orders", func(t *testing.T) {
		var req events.APIGatewayV2HTTPRequest
		readEvent(t, "api-post-order.json", &req)
		resp, err := httpadapter.NewV2(api.New(r.Intake, api.Options{OrdersToken: "local-orders-token"})).ProxyWithContext(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
		if c, err := r.Store.Customer(ctx, "C013"); err != nil || c.Rank != "new" || c.LINEUserID == "" {
			t.Errorf("customer C013 = %+v, %v; want created by the order", c, err)
		}
		// The same request again is a duplicate, not a second purchase.
		resp, _ = httpadapter.NewV2(api.New(r.Intake, api.Options{OrdersToken: "local-orders-token"})).ProxyWithContext(ctx, req)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("repeat: status %d, want 200 (already recorded)", resp.StatusCode)
		}
	})

	t.Run("order OrderPlaced", func(t *testing.T) {
		var ev events.EventBridgeEvent
		readEvent(t, "order-placed.json", &ev)
		res, err := r.Intake.HandleEvent(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if !res.NewCustomer || res.ThankYou == "" {
			t.Errorf("result %+v, want a new customer thanked", res)
		}
	})

	t.Run("sender SQS", func(t *testing.T) {
		var ev events.SQSEvent
		readEvent(t, "sender-sqs.json", &ev)
		var job message.Job
		if err := json.Unmarshal([]byte(ev.Records[0].Body), &job); err != nil {
			t.Fatal(err)
		}
		// The ledger the sample job refers to.
		o := customer.Order{ID: job.OrderID, CustomerID: job.CustomerID, Total: 3800, OrderedAt: r.Clock.Now(),
			Contact: customer.Contact{Name: "伊藤 さくら", Email: "sakura.ito@example.jp"}}
		if _, err := r.Intake.RecordOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
		resp, err := r.Sender.HandleSQS(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("resp %+v err %v", resp, err)
		}
		rec, err := r.Store.Message(ctx, job.Key)
		if err != nil || rec.Status != message.Sent {
			t.Errorf("message %s = %+v, %v; want sent", job.Key, rec, err)
		}
	})

	t.Run("schedule daily and release", func(t *testing.T) {
		tasks := &app.Tasks{Runner: r.Daily, Releaser: r.Store, Campaigns: r.Campaigns, Now: r.Clock.Now}
		for _, f := range []string{"schedule-daily.json", "schedule-daily-date.json", "schedule-release.json"} {
			src, err := os.ReadFile(filepath.Join("..", "..", "events", f))
			if err != nil {
				t.Fatal(err)
			}
			out, err := tasks.Handle(ctx, src)
			if err != nil || out == "" {
				t.Errorf("%s: %q, %v", f, out, err)
			}
		}
		if _, err := tasks.Handle(ctx, []byte(`{"task":"weekly"}`)); err == nil {
			t.Error("an unknown task was accepted")
		}
	})
}
