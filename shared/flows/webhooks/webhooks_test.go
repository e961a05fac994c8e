package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/adapters/dynamo"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/report"
	"github.com/daifuku/daifuku/shared/domain/webhook"
	"github.com/daifuku/daifuku/shared/edge/handler"
	"github.com/daifuku/daifuku/shared/flows/webhooks"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

const follow = `{"type":"follow","mode":"active","timestamp":1795395600000,"source":{"type":"user","userId":"Uretry"},` +
	`"replyToken":"r","webhookEventId":"01RETRY","deliveryContext":{"isRedelivery":false},"follow":{"isUnblocked":false}}`

// flakyLedger fails the first n writes of effects, as DynamoDB throttling would.
type flakyLedger struct {
	*dynamo.Store
	fail int
}

func (f *flakyLedger) Apply(ctx context.Context, e webhook.Effects) error {
	if f.fail > 0 {
		f.fail--
		return errors.New("ProvisionedThroughputExceededException")
	}
	return f.Store.Apply(ctx, e)
}

// A batch whose processing fails is reported to SQS, stays stored, and is
// applied once when SQS delivers it again (after five failures: the DLQ).
func TestFailedBatchIsRetriedAndAppliedOnce(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	if _, err := r.Inbox.Accept(ctx, webhook.LINE, []json.RawMessage{json.RawMessage(follow)}); err != nil {
		t.Fatal(err)
	}
	ev := r.Queue.DrainBatches(10)
	p := *r.Webhooks
	p.Ledger = &flakyLedger{Store: r.Store, fail: 1}
	p.Welcome, p.Referrals = nil, nil // follow-ups write the prospect again, on purpose
	resp, err := handler.ApplyWebhooks(&p)(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[0].MessageId {
		t.Fatalf("failed batch not reported: %+v %v", resp, err)
	}
	if _, err := r.Store.CustomerByLINE(ctx, "Uretry"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a failed batch left effects: %v", err)
	}
	// SQS delivers it again, twice even: applied once.
	for range 2 {
		if resp, err := handler.ApplyWebhooks(&p)(ctx, ev); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("retry: %+v %v", resp, err)
		}
	}
	c, err := r.Store.CustomerByLINE(ctx, "Uretry")
	if err != nil || c.Version != 1 {
		t.Errorf("after the retry: %+v %v; want the prospect written once", c, err)
	}
	var m struct {
		BatchID string `json:"batch_id"`
	}
	if err := json.Unmarshal([]byte(ev.Records[0].Body), &m); err != nil {
		t.Fatal(err)
	}
	if b, _ := r.Store.Batch(ctx, m.BatchID); b == nil || b.Status != webhook.Done {
		t.Errorf("batch not marked done: %+v", b)
	}
}

type brokenQueue struct{ err error }

func (q brokenQueue) EnqueueBatches(context.Context, ...string) error { return q.err }

// Stored but not queued: the request fails (the provider redelivers) and the
// redelivery queues the stored batch.
func TestStoredButNotQueuedIsQueuedByTheRedelivery(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	broken := &webhooks.Acceptor{Store: r.Store, Queue: brokenQueue{errors.New("SQS unavailable")}, Env: r.Env}
	evs := []json.RawMessage{json.RawMessage(follow)}
	if _, err := broken.Accept(ctx, webhook.LINE, evs); err == nil {
		t.Fatal("a queue failure was answered as success")
	}
	if n, err := r.Inbox.Accept(ctx, webhook.LINE, evs); err != nil || n != 1 {
		t.Fatalf("redelivery: %d batches, %v", n, err)
	}
	if failed := r.ProcessWebhooks(t); failed != 0 {
		t.Fatal("batch failed")
	}
	// Once done, a further redelivery is not queued at all.
	if n, err := r.Inbox.Accept(ctx, webhook.LINE, evs); err != nil || n != 0 {
		t.Errorf("after processing: %d batches queued, %v", n, err)
	}
}

func TestUnreadableQueueMessageIsReported(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: "not json"}, {MessageId: "m2", Body: `{"batch_id":"batch#line#nope"}`}}}
	resp, err := handler.ApplyWebhooks(r.Webhooks)(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 2 {
		t.Errorf("%+v %v; want both reported (they end in the DLQ)", resp, err)
	}
}

func TestLargeRequestsAreSplitIntoBatches(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	// 900 events of ~500 bytes: more than one DynamoDB item holds.
	pad := strings.Repeat("x", 450)
	big := make([]json.RawMessage, 0, 900)
	for i := range 900 {
		big = append(big, json.RawMessage(fmt.Sprintf(`{"event":"open","sg_event_id":"e%d","pad":%q}`, i, pad)))
	}
	n, err := r.Inbox.Accept(context.Background(), webhook.SendGrid, big)
	if err != nil || n < 2 {
		t.Fatalf("%d batches, %v; want the request split under DynamoDB's item limit", n, err)
	}
	if failed := r.ProcessWebhooks(t); failed != 0 {
		t.Error("batches failed")
	}
}

// A studio test email that bounces stops no customer's email, though a
// customer has the same address; a real bounce does.
func TestABouncedTestEmailStopsNoCustomer(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	if err := r.Store.PutCustomers(ctx, []*customer.Customer{{ID: "C1", Email: "hanako@shop.jp", Rank: "new",
		Consent: customer.Consent{Email: true}}}); err != nil {
		t.Fatal(err)
	}
	bounce := func(id, extra string) customer.ContactStatus {
		t.Helper()
		ev := json.RawMessage(`{"sg_event_id":"` + id + `","event":"bounce","type":"bounce","email":"hanako@shop.jp","timestamp":1795395600` + extra + `}`)
		if _, err := r.Inbox.Accept(ctx, webhook.SendGrid, []json.RawMessage{ev}); err != nil {
			t.Fatal(err)
		}
		r.ProcessWebhooks(t)
		c, err := r.Store.Customer(ctx, "C1")
		if err != nil {
			t.Fatal(err)
		}
		return c.Consent.EmailStatus
	}
	if st := bounce("b-test", `,"test":"studio"`); st != customer.Reachable {
		t.Errorf("after a test email bounced: %q, want reachable", st)
	}
	if st := bounce("b-real", ""); st != customer.Bounced {
		t.Errorf("after a real bounce: %q, want bounced", st)
	}
}

// Engagement counts in the report once per message: a redelivered event and
// a second open add nothing.
func TestEngagementCountsOncePerMessage(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	now := r.Clock.Now()
	rec := message.Record{Key: "step-e1", Kind: message.Step, CustomerID: "C1", Rank: "new", Plan: "new", PlanVersion: 2, Step: "care",
		Template: "step/new-care", Status: message.Sent, CreatedAt: now, UpdatedAt: now, SentAt: now,
		Job: &message.Job{Key: "step-e1", Template: "step/new-care"}}
	if _, err := r.Store.CreateMessage(ctx, rec, delivery.CapChange{}); err != nil {
		t.Fatal(err)
	}
	event := func(id, kind string) {
		t.Helper()
		ev := json.RawMessage(`{"sg_event_id":"` + id + `","event":"` + kind + `","email":"c1@example.jp","timestamp":1795395600,"message_key":"step-e1"}`)
		if _, err := r.Inbox.Accept(ctx, webhook.SendGrid, []json.RawMessage{ev}); err != nil {
			t.Fatal(err)
		}
		r.ProcessWebhooks(t)
	}
	event("d1", "delivered")
	event("o1", "open")
	event("o1", "open") // redelivered
	event("o2", "open") // a second open
	event("c1", "click")
	rows, _, err := r.Store.ReportRows(ctx, report.Month(now))
	if err != nil {
		t.Fatal(err)
	}
	c := rows[report.RowOf(&rec).Key()]
	if c.Decided != 1 || c.Delivered != 1 || c.Opened != 1 || c.Clicked != 1 {
		t.Errorf("counters %+v; want one decision, delivered, opened and clicked once each", c)
	}
}
