package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/apispec"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// The address of SendGrid's documented sample events.
const sampleEmail = "example@test.com"

// Every event type of SendGrid's documentation, posted as SendGrid frames
// them: each is accepted once; those that stop email stop it.
func TestSendGridSampleEventsStopEmailToTheAddress(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		event string
		want  customer.ContactStatus
	}{
		{"processed", ""}, {"deferred", ""}, {"delivered", ""}, {"open", ""}, {"click", ""},
		{"bounce", customer.Bounced}, {"dropped", ""}, {"spamreport", customer.Complained},
		{"unsubscribe", customer.Unsubscribed}, {"group_unsubscribe", customer.Unsubscribed}, {"group_resubscribe", ""},
	} {
		t.Run(tt.event, func(t *testing.T) {
			t.Parallel()
			k := newHook(t)
			k.seed(t, &customer.Customer{ID: "C1", Email: sampleEmail, Consent: customer.Consent{Email: true}})
			body := sampleEvents(t, tt.event)
			k.sendSendGrid(t, body)
			c := k.customer(t, "C1")
			if c.Consent.EmailStatus != tt.want {
				t.Errorf("email status %q, want %q", c.Consent.EmailStatus, tt.want)
			}
			if (tt.want == customer.Unsubscribed) == c.Consent.Email {
				t.Errorf("email consent %v after %s", c.Consent.Email, tt.event)
			}
		})
	}
}

// sampleEvents is the documented sample of one event type, framed as SendGrid sends it.
func sampleEvents(t *testing.T, event string) []byte {
	t.Helper()
	var all []json.RawMessage
	if err := json.Unmarshal(apispec.Fixture(t, "sendgrid-events-all.json"), &all); err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if bytes.Contains(e, []byte(`"event":"`+event+`"`)) {
			return append(append([]byte("["), e...), "]\r\n"...)
		}
	}
	t.Fatalf("no %s sample", event)
	return nil
}

func TestSendGridAllSamplesInOneBatchOnce(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", Email: sampleEmail, Consent: customer.Consent{Email: true}})
	body := apispec.Fixture(t, "sendgrid-events-all.json")
	k.sendSendGrid(t, body)
	// SendGrid delivers at least once: the same batch again, re-signed later, changes nothing.
	k.Clock.Advance(time.Minute)
	sig, ts := k.signSendGrid(t, body, k.Clock.Now())
	if w := k.postSendGrid(t, body, sig, ts); w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	batches := k.Queue.DrainBatches(10)
	if len(batches.Records) != 0 {
		// A processed batch is not queued again; were it queued, its markers would stop it.
		t.Errorf("%d processed batches queued again", len(batches.Records))
	}
	// The first stop wins: the bounce came first.
	if c := k.customer(t, "C1"); c.Consent.EmailStatus != customer.Bounced {
		t.Errorf("email status %q, want bounced", c.Consent.EmailStatus)
	}
}

// Events carrying daifuku's message key (custom_args) move that message along,
// whatever zone the clock is in: each event rewrites the message under the
// condition that its stored updated_at is the one read.
func TestSendGridEventsUpdateTheirMessage(t *testing.T) {
	t.Parallel()
	for _, zone := range []string{"UTC", "Asia/Tokyo", "America/Los_Angeles"} {
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(zone)
			if err != nil {
				t.Fatal(err)
			}
			k := newHook(t)
			k.Clock.Set(k.Clock.Now().In(loc))
			sendGridEventsUpdateTheirMessage(t, k)
		})
	}
}

func sendGridEventsUpdateTheirMessage(t *testing.T, k *hook) {
	k.seed(t, &customer.Customer{ID: "C1", Email: "hanako@example.jp", Consent: customer.Consent{Email: true}})
	key := k.sent(t, message.Newsletter, "C1", customer.Email, k.Clock.Now().Add(-time.Hour))
	at := k.Clock.Now().Add(-30 * time.Minute).Unix()
	ev := func(id, typ string, extra string) string {
		return fmt.Sprintf(`{"email":"hanako@example.jp","timestamp":%d,"event":"%s","sg_event_id":"%s","sg_message_id":"m1.filter","message_key":%q,"customer_id":"C1"%s}`,
			at, typ, id, key, extra)
	}
	// Out of order, as SendGrid sends them: the click before the delivery.
	body := "[" + strings.Join([]string{
		ev("e1", "processed", ""), ev("e2", "click", `,"url":"https://komorebi.example.jp/"`), ev("e3", "delivered", ""),
		ev("e4", "open", ""), ev("e5", "open", ""), ev("e6", "deferred", ""), ev("e7", "spamreport", ""),
		`{"event":"brand_new_event","sg_event_id":"e8","email":"hanako@example.jp","timestamp":1}`,
	}, ",\r\n") + "]\r\n"
	k.sendSendGrid(t, []byte(body))
	k.sendSendGrid(t, []byte(body)) // redelivered: counted once
	rec, err := k.Store.Message(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != message.Clicked || rec.Opens != 2 || rec.Clicks != 1 || rec.Deferrals != 1 || rec.DeliveredAt.IsZero() || rec.Complaint != "spamreport" {
		t.Errorf("message after events: status %q opens %d clicks %d deferrals %d delivered %v complaint %q",
			rec.Status, rec.Opens, rec.Clicks, rec.Deferrals, rec.DeliveredAt, rec.Complaint)
	}
	if c := k.customer(t, "C1"); c.Consent.EmailStatus != customer.Complained {
		t.Errorf("email status %q after a spam report", c.Consent.EmailStatus)
	}
	// And no more newsletters go to them.
	job := message.Job{Key: "newsletter|C1|next", Kind: message.Newsletter, CustomerID: "C1", Rank: "new"}
	if err := k.Sender.Send(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if n := len(k.Capture.Requests("email")); n != 0 {
		t.Errorf("%d emails after a spam report", n)
	}
}

func TestBadSendGridRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", Email: sampleEmail, Consent: customer.Consent{Email: true}})
	body := sampleEvents(t, "unsubscribe")
	sig, ts := k.signSendGrid(t, body, k.Clock.Now())
	oldSig, oldTS := k.signSendGrid(t, body, k.Clock.Now().Add(-time.Hour))
	notArray := []byte(`{"event":"open"}`)
	naSig, naTS := k.signSendGrid(t, notArray, k.Clock.Now())

	// SendGrid's own vector: correctly signed in 2020, so a replay today.
	var vec struct {
		PublicKey string `json:"public_key_base64"`
		Signature string `json:"signature"`
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal(apispec.Fixture(t, "sendgrid-signed-event.json"), &vec); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, sig, ts string
		body          []byte
		status        int
		msg           string
	}{
		{"no signature", "", "", body, 401, "Signature"},
		{"signature of another body", sig, ts, append(body, ' '), 401, "Signature"},
		{"another timestamp", sig, oldTS, body, 401, "Signature"},
		{"garbage signature", "bm90IGEgc2lnbmF0dXJl", ts, body, 401, "Signature"},
		{"a replay an hour later", oldSig, oldTS, body, 401, "too old"},
		{"SendGrid's vector under another key", vec.Signature, vec.Timestamp, apispec.Fixture(t, "sendgrid-signed-event.payload"), 401, "Signature"},
		{"not an array, signed", naSig, naTS, notArray, 400, "not a JSON array"},
		{"oversized", sig, ts, bytes.Repeat([]byte(" "), 9<<20), 413, "too large"},
	}
	for _, tt := range tests {
		w := k.postSendGrid(t, tt.body, tt.sig, tt.ts)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.msg) {
			t.Errorf("%s: %d %s; want %d with %q", tt.name, w.Code, w.Body, tt.status, tt.msg)
		}
	}
	if n := k.Queue.Batches.Len(); n != 0 {
		t.Errorf("%d batches queued from rejected requests", n)
	}
	if c := k.customer(t, "C1"); !c.Consent.Email || c.Consent.EmailStatus != customer.Reachable {
		t.Errorf("a rejected unsubscribe changed consent: %+v", c.Consent)
	}
}

// SendGrid's official signed vectors verify with their own key; only their
// age stops them (replay protection), which is what the window is for.
func TestSendGridOfficialVectorsVerify(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"sendgrid-signed-event", "sendgrid-signed-events-multi"} {
		var vec struct {
			PublicKey string `json:"public_key_base64"`
			Signature string `json:"signature"`
			Timestamp string `json:"timestamp"`
		}
		if err := json.Unmarshal(apispec.Fixture(t, name+".json"), &vec); err != nil {
			t.Fatal(err)
		}
		payload := apispec.Fixture(t, name+".payload")
		k := newHook(t)
		h, err := k.APIHandler(func(key string) string {
			return map[string]string{"SENDGRID_WEBHOOK_PUBLIC_KEY": vec.PublicKey, "SENDGRID_WEBHOOK_MAX_AGE": "0"}[key]
		})
		if err != nil {
			t.Fatal(err)
		}
		post := func(body []byte, h http.Handler) int {
			req := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid/events", bytes.NewReader(body))
			req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", vec.Signature)
			req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", vec.Timestamp)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return w.Code
		}
		if code := post(payload, h); code != 200 {
			t.Errorf("%s with replay check off: %d", name, code)
		}
		flipped := bytes.Clone(payload)
		flipped[len(flipped)/2] ^= 1
		if code := post(flipped, h); code != 401 {
			t.Errorf("%s with a flipped byte: %d", name, code)
		}
		strict, err := k.APIHandler(func(key string) string {
			return map[string]string{"SENDGRID_WEBHOOK_PUBLIC_KEY": vec.PublicKey}[key]
		})
		if err != nil {
			t.Fatal(err)
		}
		if code := post(payload, strict); code != 401 {
			t.Errorf("%s replayed years later: %d", name, code)
		}
		if k.ProcessWebhooks(t) != 0 {
			t.Errorf("%s: batch failed", name)
		}
	}
}

func postInbound(h http.Handler, path, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

const inboundType = "multipart/form-data; boundary=xYzZY"

func TestInboundParseSampleIsFeedbackFromTheSender(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"inbound-parse.txt", "inbound-parse.crlf.txt", "inbound-parse-raw.txt", "inbound-parse-raw-attachments.txt"} {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			k := newHook(t)
			k.seed(t, &customer.Customer{ID: "C1", Email: "test@example.com", Consent: customer.Consent{Email: true}})
			last := k.sent(t, message.ThankYou, "C1", customer.Email, k.Clock.Now().Add(-time.Hour))
			body := apispec.Fixture(t, f)
			if w := postInbound(k.h, "/webhooks/sendgrid/inbound/"+inboundToken, inboundType, body); w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if k.ProcessWebhooks(t) != 0 {
				t.Fatal("batch failed")
			}
			fbs := k.feedbackOf(t, "C1")
			if len(fbs) != 1 || fbs[0].Type != feedback.Comment || fbs[0].MessageKey != last || fbs[0].Channel != customer.Email {
				t.Fatalf("feedback %+v; want one email comment on %s", fbs, last)
			}
			if f == "inbound-parse.txt" && fbs[0].Text != "Hello Twilio SendGrid!" {
				t.Errorf("text %q", fbs[0].Text)
			}
			// Redelivered by SendGrid: still one, forwarded to the shop once.
			postInbound(k.h, "/webhooks/sendgrid/inbound/"+inboundToken, inboundType, body)
			k.ProcessWebhooks(t)
			if n := len(k.feedbackOf(t, "C1")); n != 1 {
				t.Errorf("%d feedback items after a redelivery", n)
			}
			if n := len(k.Capture.Requests("email")); n != 1 {
				t.Errorf("%d forwards to the shop, want 1", n)
			}
		})
	}
}

// A reply to daifuku's per-message reply address finds its message, whoever sends it.
func TestEmailReplyFindsItsMessageByReplyAddress(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", Email: "hanako@example.jp", Consent: customer.Consent{Email: true}})
	job := message.Job{Key: message.NewKey(message.ThankYou, "C1", "order:O-1"), Kind: message.ThankYou, CustomerID: "C1", Rank: "new"}
	if err := k.Sender.Send(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	newer := k.sent(t, message.Newsletter, "C1", customer.Email, k.Clock.Now().Add(time.Minute))
	mails := k.Capture.Requests("email")
	if len(mails) != 1 {
		t.Fatalf("%d mails sent", len(mails))
	}
	var sent struct {
		ReplyTo struct {
			Email string `json:"email"`
		} `json:"reply_to"`
	}
	if err := json.Unmarshal(mails[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sent.ReplyTo.Email, "reply+") || !strings.HasSuffix(sent.ReplyTo.Email, "@reply.komorebi.example.jp") {
		t.Fatalf("reply-to %q is not a per-message reply address", sent.ReplyTo.Email)
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.SetBoundary("xYzZY")
	for k, v := range map[string]string{
		"from": "Hanako <hanako.at.work@example.com>", "to": sent.ReplyTo.Email, "subject": "Re: ご注文ありがとうございます",
		"text":     "ありがとうございます。箱もかわいかったです。\r\n\r\nOn Mon, 23 Nov 2026 at 10:00, こもれび <hello@komorebi.example.jp> wrote:\r\n> ご注文ありがとうございます",
		"envelope": `{"to":["` + sent.ReplyTo.Email + `"],"from":"hanako.at.work@example.com"}`,
	} {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	// Basic auth works as well as the path token.
	req := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid/inbound", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth("sendgrid", inboundToken)
	w := httptest.NewRecorder()
	k.h.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	k.ProcessWebhooks(t)
	fbs := k.feedbackOf(t, "C1")
	if len(fbs) != 1 || fbs[0].MessageKey != job.Key || fbs[0].Text != "ありがとうございます。箱もかわいかったです。" {
		t.Fatalf("feedback %+v; want the reply without its quote, on %s (not the newer %s)", fbs, job.Key, newer)
	}
	if rec, _ := k.Store.Message(context.Background(), job.Key); rec.Status != message.Replied {
		t.Errorf("replied message status %q", rec.Status)
	}
	// The shop reads it in its support inbox and answers the customer directly.
	mails = k.Capture.Requests("email")
	if len(mails) != 2 {
		t.Fatalf("%d emails, want the thank-you and the forwarded reply", len(mails))
	}
	var fwd struct {
		Personalizations []struct{ To []struct{ Email string } }
		ReplyTo          struct{ Email string } `json:"reply_to"`
	}
	if err := json.Unmarshal(mails[1].Body, &fwd); err != nil {
		t.Fatal(err)
	}
	if fwd.Personalizations[0].To[0].Email != "support@komorebi.example.jp" || fwd.ReplyTo.Email != "hanako.at.work@example.com" ||
		!strings.Contains(string(mails[1].Body), "箱もかわいかった") {
		t.Errorf("forward: %s", mails[1].Body)
	}
	if err := apispec.ForTest(t).ValidateSendGridMail(mails[1].Body); err != nil {
		t.Error(err)
	}
}

func TestBadInboundRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", Email: "test@example.com", Consent: customer.Consent{Email: true}})
	body := apispec.Fixture(t, "inbound-parse.txt")
	for _, tt := range []struct {
		name, path, ct string
		body           []byte
		status         int
	}{
		{"no token", "/webhooks/sendgrid/inbound", inboundType, body, 401},
		{"wrong token", "/webhooks/sendgrid/inbound/guess", inboundType, body, 401},
		{"not multipart", "/webhooks/sendgrid/inbound/" + inboundToken, "application/json", []byte(`{}`), 400},
		{"broken multipart", "/webhooks/sendgrid/inbound/" + inboundToken, inboundType, body[:len(body)/2], 400},
		{"raw email without a body", "/webhooks/sendgrid/inbound/" + inboundToken, inboundType,
			[]byte("--xYzZY\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nFrom: a@b.c\r\n--xYzZY--\r\n"), 400},
		{"oversized", "/webhooks/sendgrid/inbound/" + inboundToken, inboundType, bytes.Repeat([]byte("x"), 11<<20), 413},
	} {
		if w := postInbound(k.h, tt.path, tt.ct, tt.body); w.Code != tt.status || !strings.HasPrefix(w.Body.String(), `{"error"`) {
			t.Errorf("%s: %d %s; want %d", tt.name, w.Code, w.Body, tt.status)
		}
	}
	if n := k.Queue.Batches.Len(); n != 0 {
		t.Errorf("%d batches from rejected requests", n)
	}
	if fbs := k.feedbackOf(t, "C1"); len(fbs) != 0 {
		t.Errorf("rejected requests stored feedback")
	}
}

// Each event type carrying daifuku's message key leaves its mark on the message.
func TestEveryEventTypeOnItsMessage(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", Email: "hanako@example.jp", Consent: customer.Consent{Email: true}})
	want := map[string]func(r *message.Record) bool{
		"processed":         func(r *message.Record) bool { return r.Status == message.Sent },
		"deferred":          func(r *message.Record) bool { return r.Status == message.Sent && r.Deferrals == 1 },
		"delivered":         func(r *message.Record) bool { return r.Status == message.Delivered && !r.DeliveredAt.IsZero() },
		"open":              func(r *message.Record) bool { return r.Status == message.Opened && r.Opens == 1 },
		"click":             func(r *message.Record) bool { return r.Status == message.Clicked && r.Clicks == 1 },
		"bounce":            func(r *message.Record) bool { return r.Status == message.BouncedMsg },
		"dropped":           func(r *message.Record) bool { return r.Status == message.Dropped },
		"spamreport":        func(r *message.Record) bool { return r.Complaint == "spamreport" },
		"unsubscribe":       func(r *message.Record) bool { return r.Complaint == "unsubscribe" },
		"group_unsubscribe": func(r *message.Record) bool { return r.Complaint == "group_unsubscribe" },
		"group_resubscribe": func(r *message.Record) bool { return r.Status == message.Sent },
	}
	var events []string
	keys := map[string]message.Key{}
	for typ := range want {
		// One message per event type: each its own occasion.
		key2 := message.NewKey(message.Newsletter, "C1", typ)
		job := message.Job{Key: key2, Kind: message.Newsletter, CustomerID: "C1", Rank: "new"}
		claimed, err := k.Store.Claim(context.Background(), job, customer.Email, k.Clock.Now(), k.Clock.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Store.Settle(context.Background(), claimed, message.Outcome{Status: message.Sent, At: k.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		keys[typ] = key2
		events = append(events, fmt.Sprintf(`{"email":"other@example.jp","timestamp":%d,"event":%q,"sg_event_id":"id-%s","message_key":%q}`,
			k.Clock.Now().Unix(), typ, typ, key2))
	}
	k.sendSendGrid(t, []byte("["+strings.Join(events, ",\r\n")+"]\r\n"))
	for typ, ok := range want {
		rec, err := k.Store.Message(context.Background(), keys[typ])
		if err != nil {
			t.Fatal(err)
		}
		if !ok(rec) {
			t.Errorf("%s: message %+v", typ, rec)
		}
	}
	// The events name another address than the customer's now: theirs is not stopped.
	if c := k.customer(t, "C1"); c.Consent.EmailStatus != customer.Reachable || !c.Consent.Email {
		t.Errorf("events about an old address stopped the current one: %+v", c.Consent)
	}
}
