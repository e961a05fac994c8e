package sending_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/apispec"
	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/edge/handler"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

const lineUser = "U4af4980629a1b2c3d4e5f60718293a01"

// seed stores a customer with some history and records a fresh order for them.
func seed(t *testing.T, r *testrig.Rig, c *customer.Customer, pastOrders int, spend int64) message.Key {
	t.Helper()
	ctx := context.Background()
	if _, err := r.Intake.ImportCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	for i := range pastOrders {
		o := customer.Order{ID: c.ID + "-old-" + string(rune('a'+i)), CustomerID: c.ID, Total: spend / int64(pastOrders+1),
			OrderedAt: r.Clock.Now().AddDate(0, -1-i, 0)}
		if _, err := r.Intake.RecordOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	last := spend / int64(pastOrders+1)
	res, err := r.Intake.RecordOrder(ctx, customer.Order{ID: c.ID + "-now", CustomerID: c.ID, Total: last,
		OrderedAt: r.Clock.Now(), Items: []customer.Item{{Name: "益子焼 マグカップ", Quantity: 1, Price: last}}})
	if err != nil {
		t.Fatal(err)
	}
	return message.Key(res.ThankYou)
}

func lineCustomer(id string) *customer.Customer {
	return &customer.Customer{ID: id, Name: "佐藤 花子", LINEUserID: lineUser, Email: id + "@example.jp",
		PreferredChannel: customer.LINE, Consent: customer.Consent{LINE: true, Email: true}}
}

func emailCustomer(id string) *customer.Customer {
	return &customer.Customer{ID: id, Name: "鈴木 一郎", Email: id + "@example.jp",
		PreferredChannel: customer.Email, Consent: customer.Consent{Email: true}}
}

func record(t *testing.T, r *testrig.Rig, key message.Key) *message.Record {
	t.Helper()
	rec, err := r.Store.Message(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestThankYouOverLINEIsValidAndRankSpecific(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	specs := apispec.ForTest(t)
	royal := seed(t, r, lineCustomer("C1"), 9, 120000)
	newbie := seed(t, r, lineCustomer("C2"), 0, 3800)
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	reqs := r.Capture.Requests("line")
	if len(reqs) != 2 {
		t.Fatalf("LINE requests = %d, want 2", len(reqs))
	}
	for _, req := range reqs {
		if err := specs.ValidateLinePush(req.Body); err != nil {
			t.Errorf("push body invalid against the LINE spec: %v\n%s", err, req.Body)
		}
		if req.Header.Get("X-Line-Retry-Key") == "" || req.Header.Get("Authorization") != "Bearer test-token" {
			t.Errorf("headers = %v", req.Header)
		}
	}
	for key, tpl := range map[message.Key]string{royal: "thank-you/royal/line", newbie: "thank-you/new/line"} {
		rec := record(t, r, key)
		if rec.Status != message.Sent || rec.Channel != customer.LINE || rec.Template != tpl || rec.ProviderID == "" {
			t.Errorf("record %s = %+v, want sent on LINE with %s", key, rec, tpl)
		}
	}
	if reqs[0].Header.Get("X-Line-Retry-Key") != royal.RetryKey() && reqs[1].Header.Get("X-Line-Retry-Key") != royal.RetryKey() {
		t.Errorf("no request carried the retry key derived from %s", royal)
	}
	if string(reqs[0].Body) == string(reqs[1].Body) {
		t.Error("royal and new customers got the same LINE message")
	}
}

func TestThankYouByEmailIsValidAndMapsBack(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	specs := apispec.ForTest(t)
	key := seed(t, r, emailCustomer("C1"), 1, 9000)
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	reqs := r.Capture.Requests("email")
	if len(reqs) != 1 {
		t.Fatalf("email requests = %d, want 1", len(reqs))
	}
	if err := specs.ValidateSendGridMail(reqs[0].Body); err != nil {
		t.Errorf("mail body invalid against the SendGrid spec: %v\n%s", err, reqs[0].Body)
	}
	var body struct {
		Subject    string            `json:"subject"`
		CustomArgs map[string]string `json:"custom_args"`
		Categories []string          `json:"categories"`
		Content    []struct{ Type, Value string }
	}
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.CustomArgs["message_key"] != string(key) {
		t.Errorf("custom_args = %v, want message_key %s", body.CustomArgs, key)
	}
	if strings.Join(body.Categories, ",") != "thank-you,early" {
		t.Errorf("categories = %v, want thank-you and the rank", body.Categories)
	}
	if len(body.Content) != 2 || body.Content[0].Type != "text/plain" || body.Content[1].Type != "text/html" || body.Subject == "" {
		t.Errorf("content = %+v subject %q", body.Content, body.Subject)
	}
	if rec := record(t, r, key); rec.Status != message.Sent || rec.Template != "thank-you/early/email" {
		t.Errorf("record = %+v", rec)
	}
}

func TestRedeliveredJobSendsOnce(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	seed(t, r, lineCustomer("C1"), 0, 3800)
	seed(t, r, emailCustomer("C2"), 0, 3800)
	ev := r.Queue.Drain(10)
	for range 3 { // SQS redelivery, a Lambda retry, a second run
		resp, err := handler.SendJobs(r.Sender)(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("resp %+v, err %v", resp, err)
		}
	}
	if n := len(r.Capture.Requests("")); n != 2 {
		t.Errorf("provider requests = %d, want 2 (one per message)", n)
	}
}

func TestOptedOutCustomersAreNeverSent(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	unsub := emailCustomer("C1")
	unsub.Consent.EmailStatus = customer.Unsubscribed
	noConsent := emailCustomer("C2")
	noConsent.Consent.Email = false
	k1 := seed(t, r, unsub, 0, 3800)
	k2 := seed(t, r, noConsent, 0, 3800)
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	if n := len(r.Capture.Requests("")); n != 0 {
		t.Errorf("%d requests sent to opted-out customers", n)
	}
	for _, k := range []message.Key{k1, k2} {
		if rec := record(t, r, k); rec.Status != message.Skipped || rec.Reason == "" {
			t.Errorf("record %s = %+v, want skipped with a reason", k, rec)
		}
	}
}

func TestBlockedLINEFallsBackToEmail(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	c := lineCustomer("C1")
	c.Consent.LINEStatus = customer.Blocked
	key := seed(t, r, c, 0, 3800)
	r.SendQueued(t)
	if len(r.Capture.Requests("line")) != 0 || len(r.Capture.Requests("email")) != 1 {
		t.Errorf("line %d, email %d; want the blocked LINE user mailed instead",
			len(r.Capture.Requests("line")), len(r.Capture.Requests("email")))
	}
	if rec := record(t, r, key); rec.Channel != customer.Email {
		t.Errorf("channel = %s, want email", rec.Channel)
	}
}

func TestLINEServerErrorRetriesWithTheSameKey(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	var keys []string
	var mu sync.Mutex
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, _ []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, req.Header.Get("X-Line-Retry-Key"))
		if len(keys) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		return false
	})
	key := seed(t, r, lineCustomer("C1"), 0, 3800)
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("a single 500 is retried inline: %d failures", failed)
	}
	if len(keys) != 2 || keys[0] != keys[1] || keys[0] != key.RetryKey() {
		t.Errorf("retry keys %v, want the message's key twice", keys)
	}
	if rec := record(t, r, key); rec.Status != message.Sent || len(r.Capture.Requests("line")) != 1 {
		t.Errorf("after retry: %+v, want sent once", rec)
	}
}

func TestLINEConflictMeansAlreadySent(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	key := seed(t, r, lineCustomer("C1"), 0, 3800)
	ev := r.Queue.Drain(10)
	// LINE accepted the push, but the answer was lost: the sender saw a timeout.
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, body []byte) bool {
		r.Capture.SetFault(nil)
		r.Capture.ServeHTTP(httptestRecorder(), cloneRequest(req, body))
		w.WriteHeader(http.StatusGatewayTimeout)
		return true
	})
	resp, _ := handler.SendJobs(r.Sender)(context.Background(), ev)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("the retry after the lost answer meets 409 and counts as sent: %+v", resp)
	}
	if n := len(r.Capture.Requests("line")); n != 1 {
		t.Errorf("LINE delivered %d messages, want 1", n)
	}
	if rec := record(t, r, key); rec.Status != message.Sent {
		t.Errorf("after 409: status %s, want sent", rec.Status)
	}
}

func TestEmailWhoseSenderDiedIsNeverResent(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	key := seed(t, r, emailCustomer("C1"), 0, 3800)
	ev := r.Queue.Drain(10)
	var job message.Job
	_ = json.Unmarshal([]byte(ev.Records[0].Body), &job)
	// A sender claimed it and vanished before recording the outcome.
	if _, err := r.Store.Claim(context.Background(), job, customer.Email, r.Clock.Now(), r.Clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	resp, _ := handler.SendJobs(r.Sender)(context.Background(), ev)
	if len(resp.BatchItemFailures) != 1 {
		t.Errorf("while the lease holds, the job must wait: %+v", resp)
	}
	r.Clock.Advance(2 * time.Minute)
	resp, _ = handler.SendJobs(r.Sender)(context.Background(), ev)
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("after the lease: %+v", resp)
	}
	if n := len(r.Capture.Requests("email")); n != 0 {
		t.Errorf("email re-sent %d times after an unknown outcome", n)
	}
	if rec := record(t, r, key); rec.Status != message.Ambiguous {
		t.Errorf("status = %s, want ambiguous", rec.Status)
	}
}

func TestPermanentRefusalIsRecorded(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	r.Capture.SetFault(func(w http.ResponseWriter, _ *http.Request, _ []byte) bool {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"errors":[{"message":"The from address does not match a verified Sender Identity.","field":"from"}]}`))
		return true
	})
	key := seed(t, r, emailCustomer("C1"), 0, 3800)
	if failed := r.SendQueued(t); failed != 0 {
		t.Errorf("a 400 is permanent, not retried: %d failures", failed)
	}
	if rec := record(t, r, key); rec.Status != message.Failed || !strings.Contains(rec.Reason, "from") {
		t.Errorf("record = %+v, want failed with SendGrid's reason", rec)
	}
}

func TestMalformedJobIsReportedForTheDLQ(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ev := r.Queue.Drain(0)
	ev.Records = append(ev.Records, eventRecord("m1", `{"key":`), eventRecord("m2", `{"key":"k","kind":"nope","customer_id":"C1"}`))
	resp, err := handler.SendJobs(r.Sender)(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 2 {
		t.Errorf("resp %+v err %v, want both records reported", resp, err)
	}
}
