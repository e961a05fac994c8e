package sending_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/edge/app"
)

// BenchmarkSend measures the sender path for one thank-you, decided as the
// intake decides it: read the message record and the customer, render the
// rank's template, claim the key in DynamoDB Local, send to the capture
// server through the real SDK client, and record and count the outcome.
// Run with `make bench`.
func BenchmarkSend(b *testing.B) {
	for _, ch := range []customer.Channel{customer.LINE, customer.Email} {
		b.Run(string(ch), func(b *testing.B) { benchSend(b, ch, 1) })
		b.Run(string(ch)+"/10-workers", func(b *testing.B) { benchSend(b, ch, 10) })
	}
}

// benchSend sends b.N messages with the given number of concurrent workers
// (an SQS batch of ten is sent ten at a time).
func benchSend(b *testing.B, ch customer.Channel, workers int) {
	r := testrig.New(b)
	ctx := context.Background()
	c := lineCustomer("C1")
	if ch == customer.Email {
		c = emailCustomer("C1")
	}
	c.Rank = "royal"
	if err := r.Store.SaveCustomer(ctx, c); err != nil {
		b.Fatal(err)
	}
	o := customer.Order{ID: "O1", CustomerID: "C1", Total: 8800, OrderedAt: r.Clock.Now(),
		Items: []customer.Item{{Name: "益子焼 ピッチャー", Quantity: 1, Price: 8800}}}
	if _, err := r.Intake.RecordOrder(ctx, o); err != nil {
		b.Fatal(err)
	}
	// Each message decided beforehand, as the intake records a thank-you, so
	// the send is counted in the report as a real one is.
	jobOf := func(i int) message.Job {
		return message.Job{Key: message.NewKey(message.ThankYou, "C1", fmt.Sprint("bench:", i)),
			Kind: message.ThankYou, CustomerID: "C1", Rank: "royal", OrderID: "O1", QueuedAt: r.Clock.Now()}
	}
	for i := range b.N {
		job := jobOf(i)
		if _, err := r.Store.CreateMessage(ctx, message.Record{Key: job.Key, Kind: job.Kind, CustomerID: "C1", Rank: "royal",
			OrderID: "O1", Status: message.Queued, CreatedAt: job.QueuedAt, UpdatedAt: job.QueuedAt, Job: &job}, delivery.CapChange{}); err != nil {
			b.Fatal(err)
		}
	}
	// The sender on a client that counts its round trips to DynamoDB.
	deps := r.Deps
	var ops *testrig.Ops
	deps.DB, ops = testrig.Counting(r.DB)
	sender := app.New(deps).Sender
	jobs := make(chan int)
	errs := make(chan error, workers)
	b.ResetTimer()
	for range workers {
		go func() {
			var err error
			for i := range jobs {
				if e := sender.Send(ctx, jobOf(i)); e != nil && err == nil {
					err = e
				}
			}
			errs <- err
		}()
	}
	for i := range b.N {
		jobs <- i
	}
	close(jobs)
	for range workers {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
	b.ReportMetric(float64(ops.Total())/float64(b.N), "dynamodb-calls/msg")
	if got := len(r.Capture.Requests(string(ch))); got != b.N {
		b.Fatalf("%d requests for %d messages", got, b.N)
	}
}
