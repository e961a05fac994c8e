package reconcile_test

import (
	"context"
	"encoding/json"
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
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/webhook"
	"github.com/daifuku/daifuku/shared/edge/handler"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
	"github.com/daifuku/daifuku/shared/flows/reconcile"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

func emailCustomer(id string) *customer.Customer {
	return &customer.Customer{ID: id, Email: strings.ToLower(id) + "@example.jp", Rank: "new", Consent: customer.Consent{Email: true}}
}

// order records an order whose thank-you (email) is queued.
func order(t *testing.T, r *testrig.Rig, id string) message.Key {
	t.Helper()
	res, err := r.Intake.RecordOrder(context.Background(), customer.Order{ID: "O-" + id, CustomerID: id, Total: 3800,
		OrderedAt: r.Clock.Now(), Contact: customer.Contact{Email: strings.ToLower(id) + "@example.jp"}})
	if err != nil {
		t.Fatal(err)
	}
	return message.Key(res.ThankYou)
}

func status(t *testing.T, r *testrig.Rig, key message.Key) message.Status {
	t.Helper()
	rec, err := r.Store.Message(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Status
}

// sweep moves past the grace period and sweeps; it returns what was requeued.
func sweep(t *testing.T, r *testrig.Rig, after time.Duration) *reconcile.Report {
	t.Helper()
	r.Clock.Advance(after)
	rep, err := r.Reconciler.Sweep(context.Background(), r.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// A crash between the decision and the queue: the order is recorded, its
// thank-you queued in the ledger, the job lost. The sweep sends it once;
// a sweep within the grace period, and one after it was sent, do nothing.
func TestCrashAfterTheDecisionIsSentOnce(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	key := order(t, r, "C1")
	r.Queue.Drain(10) // lost
	if rep := sweep(t, r, reconcile.DefaultGrace/2); rep.Stranded != 0 {
		t.Fatalf("within the grace period: %+v; want nothing stranded yet", rep)
	}
	if rep := sweep(t, r, reconcile.DefaultGrace); rep.Stranded != 1 || rep.Requeued != 1 {
		t.Fatalf("past it: %+v; want the thank-you requeued", rep)
	}
	r.SendQueued(t)
	if st := status(t, r, key); st != message.Sent || len(r.Capture.Requests("email")) != 1 {
		t.Errorf("%s, %d emails; want sent once", st, len(r.Capture.Requests("email")))
	}
	if rep := sweep(t, r, time.Hour); rep.Stranded != 0 {
		t.Errorf("after it was sent: %+v", rep)
	}
}

// A job that failed every receive sits in the dead-letter queue; its message
// is still in flight in the ledger. Once the provider is back the sweep sends
// it once. A message stranded MaxSweeps times is failed for good.
func TestAJobInTheDeadLetterQueueIsSentOnceAndGivenUpOnAtLast(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	r.Capture.SetFault(func(w http.ResponseWriter, _ *http.Request, _ []byte) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	key := order(t, r, "C1")
	r.Queue.Jobs.Visibility = -1
	if _, err := r.Queue.Jobs.Work(ctx, 1, handler.SendJobs(r.Sender)); err != nil {
		t.Fatal(err)
	}
	if n := len(r.Queue.Jobs.Dead()); n != 1 || status(t, r, key) != message.Retry {
		t.Fatalf("%d dead jobs, status %s; want the job dead and the message to retry", n, status(t, r, key))
	}
	rep := sweep(t, r, reconcile.DefaultGrace+time.Minute)
	if rep.Requeued != 1 || rep.Dead["send"] != 1 {
		t.Fatalf("sweep %+v; want it requeued and the dead letter counted", rep)
	}
	r.Capture.SetFault(nil)
	r.SendQueued(t)
	if st := status(t, r, key); st != message.Sent || len(r.Capture.Requests("email")) != 1 {
		t.Errorf("%s, %d emails; want sent once", st, len(r.Capture.Requests("email")))
	}

	// A message whose job keeps vanishing is given up on after MaxSweeps.
	lost := order(t, r, "C2")
	for i := range message.MaxSweeps {
		r.Queue.Drain(10)
		if rep := sweep(t, r, reconcile.DefaultGrace+time.Minute); rep.Requeued != 1 {
			t.Fatalf("sweep %d: %+v", i+1, rep)
		}
	}
	r.Queue.Drain(10)
	if rep := sweep(t, r, reconcile.DefaultGrace+time.Minute); rep.GaveUp != 1 || status(t, r, lost) != message.Failed {
		t.Errorf("after %d sweeps: %+v, status %s; want it failed for good", message.MaxSweeps, rep, status(t, r, lost))
	}
}

// LINE refuses a multicast for its monthly quota; the run stops before its
// members' jobs reach the sender. Once the month turns, the sweep sends each
// of them once.
func TestAQuotaRefusedBatchIsSentOnceWhenTheMonthTurns(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, _ []byte) bool {
		if req.URL.Path != "/v2/bot/message/multicast" {
			return false
		}
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"message":"You have reached your monthly limit."}`))
		return true
	})
	cs := lineCampaign(t, r, 12)
	if reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now()); err != nil || reps[0].Handed != 12 {
		t.Fatalf("%+v %v", reps, err)
	}
	r.Queue.Drain(100) // the run stopped
	r.Capture.SetFault(nil)
	r.Clock.Set(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) // the quota is back
	if rep := sweep(t, r, 0); rep.Requeued != 12 {
		t.Fatalf("sweep %+v; want the 12 members requeued", rep)
	}
	r.SendQueued(t)
	oneCopyEach(t, r, cs)
}

// lineCampaign stores n LINE friends and a newsletter to everyone, due now.
func lineCampaign(t *testing.T, r *testrig.Rig, n int) []*customer.Customer {
	t.Helper()
	ctx := context.Background()
	var cs []*customer.Customer
	for i := range n {
		cs = append(cs, &customer.Customer{ID: fmt.Sprintf("L%02d", i), LINEUserID: fmt.Sprintf("U%032x", i), Rank: "prospect",
			Consent: customer.Consent{LINE: true}})
	}
	if err := r.Store.PutCustomers(ctx, cs); err != nil {
		t.Fatal(err)
	}
	c := campaign.Campaign{ID: "winter", SendAt: r.Clock.Now(), Audience: campaign.Audience{All: true},
		Templates: map[string]string{"default": "newsletter/2026-winter-default"}}
	if err := r.Store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	return cs
}

// oneCopyEach checks that LINE got the newsletter once for each friend
// (pushed or multicast), and that the campaign completes.
func oneCopyEach(t *testing.T, r *testrig.Rig, cs []*customer.Customer) {
	t.Helper()
	got := map[string]int{}
	for _, req := range r.Capture.Requests("line") {
		var body struct {
			To any `json:"to"` // one id (push) or many (multicast)
		}
		_ = json.Unmarshal(req.Body, &body)
		switch to := body.To.(type) {
		case string:
			got[to]++
		case []any:
			for _, u := range to {
				got[fmt.Sprint(u)]++
			}
		}
	}
	for _, c := range cs {
		if got[c.LINEUserID] != 1 {
			t.Errorf("%s got %d copies, want 1", c.ID, got[c.LINEUserID])
		}
	}
	if done, err := r.Campaigns.Complete(context.Background(), r.Clock.Now()); err != nil || len(done) != 1 {
		t.Errorf("the campaign is not complete: %v %v", done, err)
	}
}

// processedEvents makes the capture server report every email it takes as
// SendGrid's event webhook would, into the rig's inbox.
func processedEvents(r *testrig.Rig) {
	r.Capture.Processed = func(ev json.RawMessage) {
		_, _ = r.Inbox.Accept(context.Background(), webhook.SendGrid, []json.RawMessage{ev})
	}
	r.Sender.EmailEvents, r.Reconciler.EmailEvents = true, true
}

// dropAnswer makes SendGrid close the connection without answering, after
// taking the email (accepted) or not; meanwhile runs before the drop, while
// the sender still waits.
func dropAnswer(r *testrig.Rig, accepted bool, meanwhile ...func()) *atomic.Int32 {
	var dropped atomic.Int32
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, body []byte) bool {
		if req.URL.Path != "/v3/mail/send" || dropped.Load() > 0 {
			return false
		}
		dropped.Add(1)
		if accepted {
			_, _ = r.Capture.AcceptMail(req, body)
		}
		for _, f := range meanwhile {
			f()
		}
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
		return true
	})
	return &dropped
}

// SendGrid took the email but the answer was lost: ambiguous, then settled
// as sent by its processed event. Nothing is sent again.
func TestAnAmbiguousEmailSendGridTookIsSettledByItsEvent(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	processedEvents(r)
	dropAnswer(r, true)
	key := order(t, r, "C1")
	r.SendQueued(t)
	if st := status(t, r, key); st != message.Ambiguous {
		t.Fatalf("status %s, want ambiguous after the lost answer", st)
	}
	r.ProcessWebhooks(t)
	if st := status(t, r, key); st != message.Sent {
		t.Fatalf("status %s, want sent once the processed event came", st)
	}
	if rep := sweep(t, r, 2*time.Hour); rep.Stranded != 0 || rep.Resent != 0 {
		t.Errorf("sweep %+v: nothing to do", rep)
	}
	if n := len(r.Capture.Requests("email")); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// SendGrid's processed event arrives while the sender still waits for the
// answer it will never get (the message is still sending). The event is
// noted; the sender's ambiguous outcome then becomes sent, and nothing is
// resent.
func TestAProcessedEventBeforeTheLostAnswerSettlesTheEmail(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	processedEvents(r)
	var (
		mu       sync.Mutex // the server's goroutine writes, the test reads: a dropped connection orders nothing
		during   []message.Status
		applyErr error
	)
	dropAnswer(r, true, func() { // the processed event is applied while the sender waits
		mu.Lock()
		defer mu.Unlock()
		for r.Queue.Batches.Len() > 0 {
			if _, err := handler.ApplyWebhooks(r.Webhooks)(context.Background(), r.Queue.DrainBatches(10)); err != nil {
				applyErr = err
			}
		}
		recs, _ := r.Store.History(context.Background(), "C1")
		for _, rec := range recs {
			during = append(during, rec.Status)
		}
	})
	key := order(t, r, "C1")
	r.SendQueued(t)
	mu.Lock()
	defer mu.Unlock()
	if applyErr != nil {
		t.Fatal(applyErr)
	}
	if len(during) != 1 || during[0] != message.Sending {
		t.Fatalf("statuses when the event was applied: %v; want the message still sending", during)
	}
	rec, err := r.Store.Message(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != message.Sent || rec.TakenAt.IsZero() || !rec.LeaseUntil.IsZero() {
		t.Fatalf("status %s, taken %v, lease %v; want sent, taken, no claim", rec.Status, rec.TakenAt, rec.LeaseUntil)
	}
	if rep := sweep(t, r, 3*time.Hour); rep.Stranded != 0 || rep.Resent != 0 {
		t.Errorf("sweep %+v: nothing to do", rep)
	}
	r.SendQueued(t)
	if n := len(r.Capture.Requests("email")); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// The connection dropped before SendGrid took the email: ambiguous, and no
// processed event ever comes. After the wait, the sweep sends it again, once.
func TestAnAmbiguousEmailSendGridNeverTookIsSentAgainOnce(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	processedEvents(r)
	dropAnswer(r, false)
	key := order(t, r, "C1")
	r.SendQueued(t)
	r.ProcessWebhooks(t)
	if st := status(t, r, key); st != message.Ambiguous || len(r.Capture.Requests("email")) != 0 {
		t.Fatalf("status %s, %d emails; want ambiguous, nothing taken", st, len(r.Capture.Requests("email")))
	}
	// The recheck comes 30 minutes after the send; the sweep's grace, an hour after that.
	if rep := sweep(t, r, 80*time.Minute); rep.Resent != 0 {
		t.Fatalf("resent before the wait ended: %+v", rep)
	}
	if rep := sweep(t, r, 15*time.Minute); rep.Resent != 1 || rep.Requeued != 1 {
		t.Fatalf("after the wait: %+v; want it sent again", rep)
	}
	r.SendQueued(t)
	r.ProcessWebhooks(t)
	if st := status(t, r, key); st != message.Sent || len(r.Capture.Requests("email")) != 1 {
		t.Errorf("status %s, %d emails; want sent, once", st, len(r.Capture.Requests("email")))
	}
	if rep := sweep(t, r, 2*time.Hour); rep.Stranded != 0 {
		t.Errorf("after it was sent: %+v", rep)
	}
}

// LINE fails to answer a campaign's multicast (500s): each run fails, its
// members stay queued in a recorded batch. The sweep leaves them to the
// campaign's next runs (a push from here, and the batch resent by the next
// run, would be two copies). After MaxBatchAttempts failed runs the batch's
// members go to the sender one by one; each gets one copy, and the campaign
// completes.
func TestMembersOfACampaignStillFanningOutAreLeftToItsNextRun(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	// Runs two hours apart from 19:30 in Japan: the second and third fall in
	// LINE's quiet hours, where a member carried on must still not be pushed
	// while its batch waits to be resent.
	r.Clock.Set(time.Date(2026, 12, 1, 19, 30, 0, 0, customer.DefaultLocation()))
	lineDown := atomic.Bool{}
	lineDown.Store(true)
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, _ []byte) bool {
		if !lineDown.Load() || !strings.HasPrefix(req.URL.Path, "/v2/bot/message/") {
			return false
		}
		w.WriteHeader(http.StatusInternalServerError)
		return true
	})
	cs := lineCampaign(t, r, 12)
	for run := 1; run <= campaigns.MaxBatchAttempts; run++ {
		_, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
		if run < campaigns.MaxBatchAttempts {
			if err == nil {
				t.Fatalf("run %d: LINE answered 500 and the run says nothing", run)
			}
			rep := sweep(t, r, 2*time.Hour)
			if rep.Fanning != 12 || rep.Requeued != 0 || r.Queue.Len() != 0 {
				t.Fatalf("sweep after run %d: %+v, %d jobs queued; want the 12 members left to the campaign", run, rep, r.Queue.Len())
			}
			continue
		}
		if err != nil {
			t.Fatalf("run %d: %v; want the batch handed to the sender", run, err)
		}
	}
	if r.Queue.Len() != 12 {
		t.Fatalf("%d jobs queued after the batch was handed over, want 12", r.Queue.Len())
	}
	lineDown.Store(false)
	r.SendQueued(t) // deferred to the morning
	r.Clock.Set(time.Date(2026, 12, 2, 9, 5, 0, 0, customer.DefaultLocation()))
	if n, err := r.Daily.Release(ctx, r.Store, r.Clock.Now()); err != nil || n != 12 {
		t.Fatalf("released %d (%v), want the 12 pushes", n, err)
	}
	r.SendQueued(t)
	oneCopyEach(t, r, cs)
}
