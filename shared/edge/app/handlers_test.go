package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/points"
	"github.com/daifuku/daifuku/shared/domain/referral"
	"github.com/daifuku/daifuku/shared/edge/api"
	"github.com/daifuku/daifuku/shared/edge/handler"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

func readEvent(t *testing.T, name string, v any) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "..", "events", name))
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
		// Spending more points than the customer has: 400, saying why.
		req.Body = strings.Replace(req.Body, `"order_id":"O-3002"`, `"order_id":"O-3002-B","points_used":1000`, 1)
		resp, _ = httpadapter.NewV2(api.New(r.Intake, api.Options{OrdersToken: "local-orders-token"})).ProxyWithContext(ctx, req)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "points_used 1000 is more than the customer's balance") {
			t.Errorf("over the balance: %d %s, want 400 naming points_used", resp.StatusCode, resp.Body)
		}
	})

	t.Run("api webhooks, then the webhook worker", func(t *testing.T) {
		// The secrets sam local gives the API function (env.json).
		var envFile map[string]map[string]string
		readEvent(t, "../env.json", &envFile)
		env := func(k string) string {
			if v, ok := envFile["ApiFunction"][k]; ok {
				return v
			}
			return envFile["Parameters"][k]
		}
		h, err := r.APIHandler(env)
		if err != nil {
			t.Fatal(err)
		}
		kenta := &customer.Customer{ID: "DEMO-05", Email: "kenta.shimizu@example.jp", Consent: customer.Consent{Email: true}, Rank: "repeater"}
		if err := r.Store.SaveCustomer(ctx, kenta); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join("..", "..", "..", "events", "api-webhook-*.json"))
		if len(files) < 4 {
			t.Fatalf("%d webhook event files", len(files))
		}
		for _, f := range files {
			var req events.APIGatewayV2HTTPRequest
			readEvent(t, filepath.Base(f), &req)
			resp, err := httpadapter.NewV2(h).ProxyWithContext(ctx, req)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("%s: %d %s %v", filepath.Base(f), resp.StatusCode, resp.Body, err)
			}
		}
		// The worker's sample event names the batch the sample follow is stored as.
		var ev events.SQSEvent
		readEvent(t, "webhook-sqs.json", &ev)
		if resp, err := handler.ApplyWebhooks(r.Webhooks)(ctx, ev); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("webhook-sqs.json: %+v %v", resp, err)
		}
		if r.ProcessWebhooks(t) != 0 {
			t.Error("webhook batches failed")
		}
		if _, err := r.Store.CustomerByLINE(ctx, "Ud00000000000000000000000000000a"); err != nil {
			t.Errorf("the sample follow made no prospect: %v", err)
		}
		if c, _ := r.Store.Customer(ctx, "DEMO-05"); c.Consent.Email || c.Consent.EmailStatus != customer.Unsubscribed {
			t.Errorf("the sample unsubscribe left email on: %+v", c.Consent)
		}
	})

	t.Run("order OrderPlaced", func(t *testing.T) {
		var ev events.EventBridgeEvent
		readEvent(t, "order-placed.json", &ev)
		res, err := handler.OrderPlaced(r.Intake)(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if !res.NewCustomer || res.ThankYou == "" || res.PointsEarned == 0 {
			t.Errorf("result %+v, want a new customer thanked, with points earned", res)
		}
		// The same event spending more points than the card holds is refused, and records nothing.
		var detail map[string]any
		_ = json.Unmarshal(ev.Detail, &detail)
		detail["order_id"], detail["points_used"] = "O-3001-B", res.PointsBalance+1
		ev.Detail, _ = json.Marshal(detail)
		if _, err := handler.OrderPlaced(r.Intake)(ctx, ev); !errors.Is(err, points.ErrInsufficient) {
			t.Errorf("an order using more points than the balance: %v, want refused", err)
		}
		if _, err := r.Store.Order(ctx, "O-3001-B"); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("the refused order is on record: %v", err)
		}
		// The sample's code is nobody's in a fresh ledger: carried through, and refused.
		if res.Referral == nil || res.Referral.Reason != referral.UnknownCode {
			t.Errorf("referral %+v, want the event's code refused as unknown", res.Referral)
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
		resp, err := handler.SendJobs(r.Sender)(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("resp %+v err %v", resp, err)
		}
		rec, err := r.Store.Message(ctx, job.Key)
		if err != nil || rec.Status != message.Sent {
			t.Errorf("message %s = %+v, %v; want sent", job.Key, rec, err)
		}
	})

	t.Run("schedule daily, release and report", func(t *testing.T) {
		tasks := r.Tasks()
		for _, f := range []string{"schedule-daily.json", "schedule-daily-date.json", "schedule-release.json",
			"schedule-report.json", "schedule-report-month.json"} {
			src, err := os.ReadFile(filepath.Join("..", "..", "..", "events", f))
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
