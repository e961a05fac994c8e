package handler_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/edge/handler"
)

// BenchmarkDrainWithSlowAnswers drains 400 email jobs in SQS batches of ten
// while 2% of SendGrid's answers take 2 s. "before" is the local drain as it
// was: one batch at a time, its messages in turn. "now" is the handler and
// the local drain as they are: four batches at once (as four Lambda
// instances), each batch's messages at once, so a slow answer delays its
// own message. Run with `make bench`.
func BenchmarkDrainWithSlowAnswers(b *testing.B) {
	oneAtATime := func(h handler.SQSHandler) handler.SQSHandler {
		return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			var resp events.SQSEventResponse
			for _, rec := range ev.Records {
				one, err := h(ctx, events.SQSEvent{Records: []events.SQSMessage{rec}})
				if err != nil {
					return resp, err
				}
				resp.BatchItemFailures = append(resp.BatchItemFailures, one.BatchItemFailures...)
			}
			return resp, nil
		}
	}
	for _, mode := range []string{"before", "now"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				r := testrig.New(b)
				ctx := context.Background()
				const n = 400
				var cs []*customer.Customer
				var jobs []message.Job
				for i := range n {
					id := fmt.Sprintf("E%04d", i)
					cs = append(cs, &customer.Customer{ID: id, Email: id + "@example.jp", Rank: "new", Consent: customer.Consent{Email: true}})
					jobs = append(jobs, message.Job{Key: message.NewKey(message.ThankYou, id, "order:O1"), Kind: message.ThankYou,
						CustomerID: id, Rank: "new"})
				}
				if err := r.Store.PutCustomers(ctx, cs); err != nil {
					b.Fatal(err)
				}
				var seen atomic.Int32
				r.Capture.SetFault(func(http.ResponseWriter, *http.Request, []byte) bool {
					if seen.Add(1)%50 == 0 { // 2%
						time.Sleep(2 * time.Second)
					}
					return false
				})
				h, invocations := handler.SendJobs(r.Sender), 4
				if mode == "before" {
					h, invocations = oneAtATime(h), 1
				}
				if err := r.Queue.Enqueue(ctx, jobs...); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if _, err := r.Queue.Jobs.Work(ctx, invocations, h); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/drain")
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "messages/s")
			}
		})
	}
}
