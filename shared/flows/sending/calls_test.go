package sending_test

import (
	"context"
	"errors"
	"testing"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/report"
	"github.com/daifuku/daifuku/shared/edge/app"
	"github.com/daifuku/daifuku/shared/edge/handler"
)

// A thank-you, decided as the intake decides it, takes three round trips to
// DynamoDB: one read (its message, customer and order), the claim, and the
// settle that counts the send in the report, once.
func TestThankYouTakesThreeDynamoDBCalls(t *testing.T) {
	for _, ch := range []customer.Channel{customer.LINE, customer.Email} {
		t.Run(string(ch), func(t *testing.T) {
			t.Parallel()
			r := testrig.New(t)
			ctx := context.Background()
			c := lineCustomer("C1")
			if ch == customer.Email {
				c = emailCustomer("C1")
			}
			first := seed(t, r, c, 0, 8800)
			second := message.Key(mustRecordOrder(t, r, "C1-next", 4400))
			deps := r.Deps
			var ops *testrig.Ops
			deps.DB, ops = testrig.Counting(r.DB)
			send := handler.SendJobs(app.New(deps).Sender)

			// The first send fills the sender's caches (pauses, content).
			jobs := r.Queue.Drain(10)
			if len(jobs.Records) < 2 {
				t.Fatalf("%d jobs queued, want a thank-you for each order", len(jobs.Records))
			}
			for i, rec := range jobs.Records {
				ops.Reset()
				batch := jobs
				batch.Records = jobs.Records[i : i+1]
				if resp, err := send(ctx, batch); err != nil || len(resp.BatchItemFailures) > 0 {
					t.Fatalf("send %s: %v %+v", rec.MessageId, err, resp)
				}
			}
			if n := ops.Total(); n > 3 {
				t.Errorf("a thank-you took %d DynamoDB calls (%v), want at most 3", n, ops.All())
			}
			// Redelivered: read, found settled, nothing sent or counted again.
			if resp, err := send(ctx, jobs); err != nil || len(resp.BatchItemFailures) > 0 {
				t.Fatalf("redelivery: %v %+v", err, resp)
			}
			if got := len(r.Capture.Requests(string(ch))); got != len(jobs.Records) {
				t.Errorf("%d requests to %s for %d thank-yous", got, ch, len(jobs.Records))
			}
			rows, _, err := r.Store.ReportRows(ctx, report.Month(r.Clock.Now()))
			if err != nil {
				t.Fatal(err)
			}
			var sent int64
			for key, row := range rows {
				if parsed, err := report.ParseKey(key); err == nil && parsed.Kind == message.ThankYou && parsed.Plan == "" {
					sent += row.Sent
				}
			}
			if want := int64(len(jobs.Records)); sent != want {
				t.Errorf("sent counted %d times in the month's thank-you rows, want %d", sent, want)
			}
			for _, k := range []message.Key{first, second} {
				if rec := record(t, r, k); rec.Status != message.Sent {
					t.Errorf("%s: %s, want sent", k, rec.Status)
				}
			}
		})
	}
}

func mustRecordOrder(t *testing.T, r *testrig.Rig, id string, total int64) string {
	t.Helper()
	res, err := r.Intake.RecordOrder(context.Background(), customer.Order{ID: id, CustomerID: "C1", Total: total,
		OrderedAt: r.Clock.Now(), Items: []customer.Item{{Name: "益子焼 小皿", Quantity: 1, Price: total}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.ThankYou
}

// A thank-you whose order is not in the ledger waits (the job is tried
// again) rather than going out without it.
func TestThankYouWithoutItsOrderWaits(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	if _, err := r.Intake.ImportCustomer(ctx, lineCustomer("C1")); err != nil {
		t.Fatal(err)
	}
	job := message.Job{Key: message.NewKey(message.ThankYou, "C1", "order:missing"), Kind: message.ThankYou,
		CustomerID: "C1", OrderID: "missing", QueuedAt: r.Clock.Now()}
	if err := r.Sender.Send(ctx, job); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("send: %v, want not found", err)
	}
	if got := len(r.Capture.Requests(string(customer.LINE))); got != 0 {
		t.Errorf("%d requests to LINE", got)
	}
}
