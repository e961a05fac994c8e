package handler_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/edge/handler"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

// tenThankYous stores ten LINE friends and returns a thank-you job for each:
// one SQS batch.
func tenThankYous(t *testing.T, r *testrig.Rig) []message.Job {
	t.Helper()
	var cs []*customer.Customer
	var jobs []message.Job
	for i := range 10 {
		c := &customer.Customer{ID: fmt.Sprintf("C%d", i), LINEUserID: fmt.Sprintf("U%032x", i), Rank: "new",
			Consent: customer.Consent{LINE: true}}
		cs = append(cs, c)
		jobs = append(jobs, message.Job{Key: message.NewKey(message.ThankYou, c.ID, "order:O1"), Kind: message.ThankYou,
			CustomerID: c.ID, Rank: "new"})
	}
	if err := r.Store.PutCustomers(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
	return jobs
}

// One slow answer from LINE must hold up one message, not its batch: the
// slow request waits until the other nine messages of its batch have
// reached LINE. Handled one at a time, they never would.
func TestASlowAnswerDelaysOnlyItsMessage(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	jobs := tenThankYous(t, r)
	var seen atomic.Int32
	othersIn := make(chan struct{})
	var once sync.Once
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, body []byte) bool {
		if seen.Add(1) == 10 {
			once.Do(func() { close(othersIn) })
		}
		if strings.Contains(string(body), fmt.Sprintf("U%032x", 0)) {
			select { // the slow one
			case <-othersIn:
			case <-time.After(5 * time.Second):
				t.Error("the other nine messages waited behind the slow one")
			}
		}
		return false
	})
	if err := r.Queue.Enqueue(ctx, jobs...); err != nil {
		t.Fatal(err)
	}
	resp, err := handler.SendJobs(r.Sender)(ctx, r.Queue.Drain(10))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v %v", resp, err)
	}
	if n := len(r.Capture.Requests("line")); n != 10 {
		t.Errorf("%d messages sent, want 10", n)
	}
}

// A request that never answers is cut off at its message's own deadline,
// inside the invocation's: the message is reported for retry and its
// outcome recorded (not left claimed), the other nine are sent, and the
// handler answers before the invocation would be killed.
func TestAHungRequestIsCutOffAtItsMessagesDeadline(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	jobs := tenThankYous(t, r)
	release := make(chan struct{})
	defer close(release)
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, body []byte) bool {
		if !strings.Contains(string(body), fmt.Sprintf("U%032x", 0)) {
			return false
		}
		select { // hangs until the client gives up (or the test ends)
		case <-req.Context().Done():
		case <-release:
		}
		return true
	})
	if err := r.Queue.Enqueue(ctx, jobs...); err != nil {
		t.Fatal(err)
	}
	invocation, cancel := context.WithTimeout(ctx, 4*time.Second) // as Lambda's timeout would
	defer cancel()
	resp, err := handler.SendJobs(r.Sender)(invocation, r.Queue.Drain(10))
	if err != nil || invocation.Err() != nil {
		t.Fatalf("the handler answered after the invocation's deadline (%v, %v)", err, invocation.Err())
	}
	if len(resp.BatchItemFailures) != 1 {
		t.Errorf("%d failures reported, want the hung message's only", len(resp.BatchItemFailures))
	}
	if n := len(r.Capture.Requests("line")); n != 9 {
		t.Errorf("%d messages sent, want the other 9", n)
	}
	rec, err := r.Store.Message(ctx, jobs[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status == message.Sending || !rec.LeaseUntil.IsZero() {
		t.Errorf("the hung message is left %s, claimed until %v; want its outcome recorded", rec.Status, rec.LeaseUntil)
	}
	if rec.Status != message.Retry {
		t.Errorf("status %s (%s), want retry", rec.Status, rec.Reason)
	}
}
