package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/apispec"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/flows/webhooks"
)

// The LINE SDK's test channel secret, as in ../shared/fixtures/line-secret.txt.
const lineSecret = "testsecret"

const inboundToken = "inbound-secret-path"

// hook is one test's world: the rig, the API handler on it, and a SendGrid
// signing key whose public half the API trusts.
type hook struct {
	*testrig.Rig
	h   http.Handler
	key *ecdsa.PrivateKey
}

func newHook(t *testing.T) *hook {
	t.Helper()
	r := testrig.New(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"LINE_CHANNEL_SECRET":         lineSecret,
		"SENDGRID_WEBHOOK_PUBLIC_KEY": base64.StdEncoding.EncodeToString(der),
		"INBOUND_PARSE_TOKEN":         inboundToken,
		"ORDERS_API_TOKEN":            token,
	}
	h, err := r.APIHandler(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return &hook{Rig: r, h: h, key: key}
}

func lineSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// postLINE posts a webhook body signed with sig and returns the answer.
func (k *hook) postLINE(t *testing.T, body []byte, sig string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/line", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("X-Line-Signature", sig)
	}
	w := httptest.NewRecorder()
	k.h.ServeHTTP(w, req)
	return w
}

// sendLINE posts a correctly signed body, wants 200 and processes the queue.
func (k *hook) sendLINE(t *testing.T, body []byte) {
	t.Helper()
	if w := k.postLINE(t, body, lineSign(lineSecret, body)); w.Code != http.StatusOK {
		t.Fatalf("POST /webhooks/line: %d %s", w.Code, w.Body)
	}
	if failed := k.ProcessWebhooks(t); failed != 0 {
		t.Fatalf("%d webhook batches failed", failed)
	}
}

func (k *hook) signSendGrid(t *testing.T, body []byte, at time.Time) (sig, ts string) {
	t.Helper()
	ts = strconv.FormatInt(at.Unix(), 10)
	sum := sha256.Sum256(append([]byte(ts), body...))
	der, err := ecdsa.SignASN1(rand.Reader, k.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der), ts
}

func (k *hook) postSendGrid(t *testing.T, body []byte, sig, ts string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sig)
	req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
	w := httptest.NewRecorder()
	k.h.ServeHTTP(w, req)
	return w
}

func (k *hook) sendSendGrid(t *testing.T, body []byte) {
	t.Helper()
	sig, ts := k.signSendGrid(t, body, k.Clock.Now())
	if w := k.postSendGrid(t, body, sig, ts); w.Code != http.StatusOK {
		t.Fatalf("POST /webhooks/sendgrid/events: %d %s", w.Code, w.Body)
	}
	if failed := k.ProcessWebhooks(t); failed != 0 {
		t.Fatalf("%d webhook batches failed", failed)
	}
}

// The LINE user of the official samples.
const sampleUser = "U206d25c2ea6bd87c17655609a1c37cb8"

var sampleAt = time.UnixMilli(1462629479859).UTC()

func (k *hook) seed(t *testing.T, c *customer.Customer) {
	t.Helper()
	if c.Rank == "" {
		c.Rank = "new"
	}
	if err := k.Store.SaveCustomer(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// sent records a message as sent to a customer, as the sender leaves it.
func (k *hook) sent(t *testing.T, kind message.Kind, customerID string, ch customer.Channel, at time.Time) message.Key {
	t.Helper()
	ctx := context.Background()
	key := message.NewKey(kind, customerID, at.Format(time.DateOnly))
	job := message.Job{Key: key, Kind: kind, CustomerID: customerID, Rank: "new"}
	claimed, err := k.Store.Claim(ctx, job, ch, at, at.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Store.Settle(ctx, claimed, message.Outcome{Status: message.Sent, At: at, ProviderID: "p-1"}); err != nil {
		t.Fatal(err)
	}
	return key
}

func (k *hook) customer(t *testing.T, id string) *customer.Customer {
	t.Helper()
	c, err := k.Store.Customer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (k *hook) feedbackOf(t *testing.T, id string) []feedback.Feedback {
	t.Helper()
	fbs, err := k.Store.FeedbackOf(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return fbs
}

func TestLINEFollowCreatesAProspectFriend(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.Clock.Set(sampleAt.Add(time.Second)) // the sample is from 2016
	k.sendLINE(t, apispec.Fixture(t, "line-follow.json"))
	c := k.customer(t, webhooks.ProspectID(sampleUser))
	if c.LINEUserID != sampleUser || !c.Consent.LINE || c.Consent.LINEStatus != customer.Reachable {
		t.Errorf("prospect not reachable on LINE: %+v", c.Consent)
	}
	if c.Rank != "prospect" || !c.FriendAddedAt.Equal(sampleAt) || c.NextDue == "" {
		t.Errorf("rank %q, friend since %v, next due %q; want a prospect friend since %v with a plan", c.Rank, c.FriendAddedAt, c.NextDue, sampleAt)
	}
	// The plan's day-0 welcome is decided at once, not at tomorrow's daily run.
	if k.SendQueued(t) != 0 {
		t.Fatal("welcome failed")
	}
	recs, err := k.Store.MessagesOf(context.Background(), c.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Kind != message.Step || recs[0].Step != "welcome" {
		t.Fatalf("messages of the new friend: %+v; want the welcome step", recs)
	}
	// 22:57 in Tokyo: quiet hours hold it until the morning.
	if recs[0].Status != message.Deferred && recs[0].Status != message.Sent {
		t.Errorf("welcome status %q", recs[0].Status)
	}
}

func TestLINEFollowRelinksAKnownCustomer(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", LINEUserID: sampleUser, Consent: customer.Consent{LINE: true, LINEStatus: customer.Blocked},
		LINEStatusAt: sampleAt.Add(-time.Hour), Purchases: customer.Purchases{Count: 2, TotalSpend: 9000}})
	k.sendLINE(t, apispec.Fixture(t, "line-follow.json"))
	c := k.customer(t, "C1")
	if c.Consent.LINEStatus != customer.Reachable || !c.FriendAddedAt.Equal(sampleAt) {
		t.Errorf("after unblocking: %+v, friend since %v", c.Consent, c.FriendAddedAt)
	}
	if _, err := k.Store.Customer(context.Background(), webhooks.ProspectID(sampleUser)); err == nil {
		t.Error("a known customer's follow created a second customer")
	}
}

func TestLINEUnfollowBlocksLINE(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", LINEUserID: sampleUser, Consent: customer.Consent{LINE: true}})
	k.sendLINE(t, apispec.Fixture(t, "line-unfollow.json"))
	c := k.customer(t, "C1")
	if c.Consent.LINEStatus != customer.Blocked {
		t.Fatalf("LINE status %q, want blocked", c.Consent.LINEStatus)
	}
	// And the sender now skips LINE for them.
	job := message.Job{Key: "step|C1|x", Kind: message.Step, CustomerID: "C1", Rank: "new"}
	if err := k.Sender.Send(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if n := len(k.Capture.Requests("line")); n != 0 {
		t.Errorf("%d LINE messages went to a customer who blocked the shop", n)
	}
}

func TestLINEEventsOutOfOrder(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", LINEUserID: sampleUser, Consent: customer.Consent{LINE: true}})
	// A later unfollow arrives first; the older follow must not undo it.
	unfollow := rewriteEvents(t, apispec.Fixture(t, "line-unfollow.json"), func(ev map[string]any) {
		ev["webhookEventId"], ev["timestamp"] = "01UNFOLLOW", sampleAt.Add(time.Hour).UnixMilli()
	})
	k.sendLINE(t, unfollow)
	k.sendLINE(t, apispec.Fixture(t, "line-follow.json"))
	if c := k.customer(t, "C1"); c.Consent.LINEStatus != customer.Blocked {
		t.Errorf("an older follow undid a newer unfollow: %q", c.Consent.LINEStatus)
	}
}

// rewriteEvents edits every event of a webhook body (the official samples share one webhookEventId).
func rewriteEvents(t *testing.T, body []byte, edit func(map[string]any)) []byte {
	t.Helper()
	var cb map[string]any
	if err := json.Unmarshal(body, &cb); err != nil {
		t.Fatal(err)
	}
	for _, ev := range cb["events"].([]any) {
		edit(ev.(map[string]any))
	}
	out, err := json.Marshal(cb)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLINETextIsFeedbackOnTheLastMessage(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", LINEUserID: sampleUser, Consent: customer.Consent{LINE: true}})
	older := k.sent(t, message.ThankYou, "C1", customer.LINE, sampleAt.Add(-48*time.Hour))
	last := k.sent(t, message.Step, "C1", customer.LINE, sampleAt.Add(-time.Hour))
	k.sendLINE(t, apispec.Fixture(t, "line-message-text.json"))
	fbs := k.feedbackOf(t, "C1")
	if len(fbs) != 1 {
		t.Fatalf("%d feedback items, want 1", len(fbs))
	}
	f := fbs[0]
	if f.Type != feedback.Comment || f.Text == "" || f.MessageKey != last || f.Kind != message.Step || f.Channel != customer.LINE {
		t.Errorf("feedback %+v; want the comment linked to %s", f, last)
	}
	rec, err := k.Store.Message(context.Background(), last)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != message.Replied || rec.RepliedAt.IsZero() {
		t.Errorf("answered message: status %q replied %v", rec.Status, rec.RepliedAt)
	}
	if rec, _ := k.Store.Message(context.Background(), older); rec.Status != message.Sent {
		t.Errorf("an older message changed too: %q", rec.Status)
	}
}

func TestRedeliveredLINEEventIsProcessedOnce(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", LINEUserID: sampleUser, Consent: customer.Consent{LINE: true}})
	body := apispec.Fixture(t, "line-message-text.json")
	k.sendLINE(t, body)
	k.sendLINE(t, apispec.Fixture(t, "line-message-text-redelivery.json")) // same webhookEventId, isRedelivery
	k.sendLINE(t, body)                                                    // the same request again
	if fbs := k.feedbackOf(t, "C1"); len(fbs) != 1 {
		t.Errorf("%d feedback items after a redelivery, want 1", len(fbs))
	}
}

func TestForeignPostbackAndUnknownEventsAreAcceptedAndIgnored(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", LINEUserID: sampleUser, Consent: customer.Consent{LINE: true}})
	// A rich-menu postback ("action=buyItem…") is not daifuku's feedback.
	k.sendLINE(t, apispec.Fixture(t, "line-postback.json"))
	if fbs := k.feedbackOf(t, "C1"); len(fbs) != 0 {
		t.Errorf("a foreign postback was stored as feedback: %+v", fbs)
	}
	// Every event type of both SDKs' samples, unknown ones included, is answered 200.
	for _, f := range []string{"line-webhook-sdk-go-all.json", "line-webhook-sdk-python-all.json", "line-message-text-sdk-go-v8.json", "line-message-text-signed.json"} {
		body := apispec.Fixture(t, f)
		if w := k.postLINE(t, body, lineSign(lineSecret, body)); w.Code != http.StatusOK && f != "line-message-text-signed.json" {
			t.Errorf("%s: %d %s", f, w.Code, w.Body)
		}
	}
	if failed := k.ProcessWebhooks(t); failed != 0 {
		t.Errorf("%d sample batches failed", failed)
	}
}

func TestLINEEmptyVerifyRequestIsAnswered(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	body := []byte(`{"destination":"U123","events":[]}`) // the console's "Verify" button
	if w := k.postLINE(t, body, lineSign(lineSecret, body)); w.Code != http.StatusOK {
		t.Errorf("verify request: %d %s", w.Code, w.Body)
	}
	if n := k.Queue.Batches.Len(); n != 0 {
		t.Errorf("%d batches queued for no events", n)
	}
}

func TestFeedbackConversationOnLINE(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	specs := apispec.ForTest(t)
	k.seed(t, &customer.Customer{ID: "C1", LINEUserID: sampleUser, Consent: customer.Consent{LINE: true}})
	ask := k.sent(t, message.Feedback, "C1", customer.LINE, sampleAt.Add(-time.Hour))
	var logs bytes.Buffer
	k.Webhooks.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	event := func(id string, at time.Time, ev map[string]any) []byte {
		ev["webhookEventId"], ev["timestamp"], ev["replyToken"], ev["mode"] = id, at.UnixMilli(), "rt-"+id, "active"
		ev["source"] = map[string]any{"type": "user", "userId": sampleUser}
		ev["deliveryContext"] = map[string]any{"isRedelivery": false}
		b, _ := json.Marshal(map[string]any{"destination": "U123", "events": []any{ev}})
		return b
	}
	// 1. The customer taps ★4 under the request.
	k.sendLINE(t, event("E1", sampleAt, map[string]any{"type": "postback",
		"postback": map[string]any{"data": feedback.RatingPostback(ask, 4).Data()}}))
	// 2. They write a comment.
	k.sendLINE(t, event("E2", sampleAt.Add(time.Minute), map[string]any{"type": "message",
		"message": map[string]any{"type": "text", "id": "m1", "quoteToken": "q", "text": "器の手ざわりが好きです"}}))
	// 3. They allow it to be published.
	k.sendLINE(t, event("E3", sampleAt.Add(2*time.Minute), map[string]any{"type": "postback",
		"postback": map[string]any{"data": feedback.ConsentPostback(ask, true).Data()}}))

	var rating, comment, consent *feedback.Feedback
	for _, f := range k.feedbackOf(t, "C1") {
		switch f.Type {
		case feedback.Rating:
			rating = &f
		case feedback.Comment:
			comment = &f
		case feedback.Consent:
			consent = &f
		}
	}
	if rating == nil || rating.Rating != 4 || rating.MessageKey != ask {
		t.Errorf("rating: %+v", rating)
	}
	if comment == nil || comment.MessageKey != ask || comment.Testimonial != "yes" || comment.Voice != feedback.Publishable || comment.Rating != 4 {
		t.Errorf("comment: %+v", comment)
	}
	if consent == nil || consent.Answer != "yes" {
		t.Errorf("consent: %+v", consent)
	}
	// The follow-ups went out as replies, valid by LINE's spec: a question after
	// the rating, the testimonial question after the comment, thanks after consent.
	replies := k.Capture.Requests("line")
	if len(replies) != 3 {
		t.Fatalf("%d replies, want 3", len(replies))
	}
	for i, r := range replies {
		if r.Path != "/v2/bot/message/reply" {
			t.Errorf("reply %d went to %s", i, r.Path)
		}
		if err := specs.ValidateLineReply(r.Body); err != nil {
			t.Errorf("reply %d: %v\n%s", i, err, r.Body)
		}
	}
	if !bytes.Contains(replies[1].Body, []byte(`"quickReply"`)) || !bytes.Contains(replies[1].Body, []byte(`fb=consent`)) {
		t.Errorf("the testimonial question has no yes/no buttons: %s", replies[1].Body)
	}

	// 4. Later they say no: the comment is no longer publishable.
	k.sendLINE(t, event("E4", sampleAt.Add(time.Hour), map[string]any{"type": "postback",
		"postback": map[string]any{"data": feedback.ConsentPostback(ask, false).Data()}}))
	got, err := k.Store.Publishable(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("withdrawn consent: %d testimonials still publishable", len(got))
	}
	// A "yes" naming another customer's message, or none we know, changes
	// nothing: it must not widen to every comment and undo the "no".
	k.seed(t, &customer.Customer{ID: "C2", LINEUserID: "U" + strings.Repeat("b", 32), Consent: customer.Consent{LINE: true}})
	theirs := k.sent(t, message.Feedback, "C2", customer.LINE, sampleAt.Add(-time.Hour))
	for i, key := range []message.Key{theirs, "feedback|C1|no-such-message"} {
		k.sendLINE(t, event(fmt.Sprintf("E4-%d", i), sampleAt.Add(90*time.Minute), map[string]any{"type": "postback",
			"postback": map[string]any{"data": feedback.ConsentPostback(key, true).Data()}}))
	}
	if got, _ := k.Store.Publishable(context.Background(), 0); len(got) != 0 {
		t.Errorf("a forged consent made %d comments publishable", len(got))
	}
	for _, f := range k.feedbackOf(t, "C1") {
		if f.Type == feedback.Comment && f.Testimonial != "no" {
			t.Errorf("comment %s: testimonial %q after forged consents, want no", f.ID, f.Testimonial)
		}
	}

	// 5. A survey choice is kept as question and answer.
	k.sendLINE(t, event("E5", sampleAt.Add(2*time.Hour), map[string]any{"type": "postback",
		"postback": map[string]any{"data": feedback.Postback{Type: feedback.Answer, Question: "next-item", Value: "tea", Message: ask}.Data()}}))
	if f, err := k.Store.Feedback(context.Background(), "line-E5"); err != nil || f.Question != "next-item" || f.Answer != "tea" {
		t.Errorf("survey answer: %+v %v", f, err)
	}
	// The logs say what happened, never what the customer wrote or who they are on LINE.
	if logs.Len() == 0 || strings.Contains(logs.String(), "手ざわり") || strings.Contains(logs.String(), sampleUser) {
		t.Errorf("logs carry personal data (or nothing):\n%s", logs.String())
	}
}

func TestBadLINERequestsChangeNothing(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	body := apispec.Fixture(t, "line-follow.json")
	good := lineSign(lineSecret, body)
	malformed := []byte(`{"destination":"U123","events":[{"type":`)
	tests := []struct {
		name   string
		body   []byte
		sig    string
		status int
		msg    string
	}{
		{"no signature", body, "", 401, "X-Line-Signature"},
		{"wrong signature", body, "AAAA" + good, 401, "X-Line-Signature"},
		{"signed with another secret", body, lineSign("other", body), 401, "X-Line-Signature"},
		{"signature of another body", append([]byte(" "), body...), good, 401, "X-Line-Signature"},
		{"malformed JSON, signed", malformed, lineSign(lineSecret, malformed), 400, "malformed"},
		{"oversized", bytes.Repeat([]byte("x"), 2<<20), "", 413, "too large"},
	}
	for _, tt := range tests {
		w := k.postLINE(t, tt.body, tt.sig)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.msg) || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s; want %d with %q", tt.name, w.Code, w.Body, tt.status, tt.msg)
		}
	}
	if n := k.Queue.Batches.Len(); n != 0 {
		t.Errorf("%d batches queued from rejected requests", n)
	}
	if _, err := k.Store.Customer(context.Background(), webhooks.ProspectID(sampleUser)); err == nil {
		t.Error("a rejected follow created a prospect")
	}
}

// The lapsed plan tells customers to answer 「少なめに」 to hear from us less:
// that reply halves their frequency cap; a comment mentioning it does not.
func TestAskingForFewerMessagesIsHeard(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", LINEUserID: sampleUser, Consent: customer.Consent{LINE: true}})
	k.sent(t, message.Lapsed, "C1", customer.LINE, sampleAt.Add(-time.Hour))
	text := func(id, words string) []byte {
		b, _ := json.Marshal(map[string]any{"destination": "U1", "events": []any{map[string]any{
			"type": "message", "mode": "active", "timestamp": sampleAt.UnixMilli(), "webhookEventId": id, "replyToken": "r" + id,
			"source": map[string]any{"type": "user", "userId": sampleUser}, "deliveryContext": map[string]any{"isRedelivery": false},
			"message": map[string]any{"type": "text", "id": id, "quoteToken": "q", "text": words}}}})
		return b
	}
	k.sendLINE(t, text("F1", "冬は器を少なめに使いたいので、小さめの湯のみを探しています。ほかにもありますか？"))
	if c := k.customer(t, "C1"); c.WantsFewer() {
		t.Fatal("a comment that mentions 少なめ in passing asked for fewer messages")
	}
	k.sendLINE(t, text("F2", "少なめに"))
	c := k.customer(t, "C1")
	if !c.WantsFewer() {
		t.Fatal("「少なめに」 was not heard")
	}
	if got := delivery.DefaultPolicy.CapFor(c).Cap.Max; got != 1 {
		t.Errorf("cap for them %d, want half of 3 (1)", got)
	}
	if recs := k.consentOf(t, "C1"); len(recs) == 0 || recs[len(recs)-1].Cause != "asked for fewer messages" || recs[len(recs)-1].How != customer.ByReply {
		t.Errorf("the timeline does not show it: %+v", recs)
	}
}
