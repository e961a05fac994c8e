package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/daifuku/daifuku/infra/apispec"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/edge/api"
)

// A birthday email carries a one-click unsubscribe link that works without login.
func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	specs := apispec.ForTest(t)
	ctx := context.Background()
	c := &customer.Customer{ID: "C1", Name: "鈴木 一郎", Email: "ichiro@example.jp", Rank: "repeater",
		Consent: customer.Consent{Email: true}, SignedUpAt: r.Clock.Now()}
	if err := r.Store.SaveCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	send := func(occasion string) *message.Record {
		job := message.Job{Key: message.NewKey(message.Birthday, "C1", occasion), Kind: message.Birthday, CustomerID: "C1", Rank: "repeater"}
		if err := r.Sender.Send(ctx, job); err != nil {
			t.Fatal(err)
		}
		rec, _ := r.Store.Message(ctx, job.Key)
		return rec
	}
	send("birthday:2026")
	reqs := r.Capture.Requests("email")
	if len(reqs) != 1 {
		t.Fatalf("%d emails", len(reqs))
	}
	if err := specs.ValidateSendGridMail(reqs[0].Body); err != nil {
		t.Error(err)
	}
	var body struct {
		Headers map[string]string `json:"headers"`
		Content []struct{ Value string }
	}
	_ = json.Unmarshal(reqs[0].Body, &body)
	link := strings.Trim(body.Headers["List-Unsubscribe"], "<>")
	if body.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" || !strings.HasPrefix(link, "https://api.example.jp/unsubscribe?t=") {
		t.Fatalf("headers = %v", body.Headers)
	}
	if !strings.Contains(body.Content[1].Value, "unsubscribe?t=") {
		t.Error("the HTML footer has no unsubscribe link")
	}
	u, _ := url.Parse(link)
	h := api.New(r.Intake, api.Options{OrdersToken: token, Unsubscribe: r.Sender.Unsubscribe, OptOuts: r.Webhooks})
	do := func(method, target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(method, target, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(w, req)
		return w
	}
	consent := func() customer.Consent {
		got, _ := r.Store.Customer(ctx, "C1")
		return got.Consent
	}

	if w := do(http.MethodGet, u.RequestURI()); w.Code != 200 || !strings.Contains(w.Body.String(), "<form method=\"post\"") || !consent().Email {
		t.Errorf("GET: %d; it must only ask, never unsubscribe (link scanners fetch links)", w.Code)
	}
	if w := do(http.MethodHead, u.RequestURI()); w.Code != 200 || !consent().Email {
		t.Errorf("HEAD: %d, consent %+v; link scanners send HEAD too: it must change nothing", w.Code, consent())
	}
	for _, m := range []string{http.MethodPut, http.MethodDelete} {
		if w := do(m, u.RequestURI()); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD, POST" || !consent().Email {
			t.Errorf("%s: %d Allow %q, consent %+v; want 405 and nothing changed", m, w.Code, w.Header().Get("Allow"), consent())
		}
	}
	if w := do(http.MethodPost, "/unsubscribe?t=forged.token"); w.Code != 400 || !consent().Email {
		t.Errorf("forged token: %d, consent %v", w.Code, consent())
	}
	if w := do(http.MethodPost, u.RequestURI()); w.Code != 200 || consent().Email || consent().EmailStatus != customer.Unsubscribed {
		t.Errorf("one-click POST: %d, consent %+v", w.Code, consent())
	}
	if w := do(http.MethodPost, u.RequestURI()); w.Code != 200 {
		t.Errorf("a second click: %d", w.Code)
	}
	if rec := send("birthday:2027"); rec.Status != message.Skipped || len(r.Capture.Requests("email")) != 1 {
		t.Errorf("after unsubscribing: %s, %d emails", rec.Status, len(r.Capture.Requests("email")))
	}
}

func TestThankYouHasNoUnsubscribeHeader(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	_, err := r.Intake.RecordOrder(ctx, customer.Order{ID: "O1", CustomerID: "C1", Total: 100, OrderedAt: r.Clock.Now(),
		Contact: customer.Contact{Email: "a@example.jp"}})
	if err != nil {
		t.Fatal(err)
	}
	r.SendQueued(t)
	if reqs := r.Capture.Requests("email"); len(reqs) != 1 || strings.Contains(string(reqs[0].Body), "List-Unsubscribe") {
		t.Error("a transactional thank-you must not carry List-Unsubscribe")
	}
}
