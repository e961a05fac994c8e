package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/capture"
	"github.com/daifuku/daifuku/shared/domain/customer"
)

// consentOf reads a customer's consent records, oldest first.
func (k *hook) consentOf(t *testing.T, id string) []customer.ConsentChange {
	t.Helper()
	recs, err := k.Store.ConsentOf(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func (k *hook) do(method, target string, form url.Values) *httptest.ResponseRecorder {
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	w := httptest.NewRecorder()
	k.h.ServeHTTP(w, req)
	return w
}

// The preference page: GET and HEAD show it and change nothing (link
// scanners fetch them); POST of its form changes the topics, each change a
// consent record; a forged or tampered token changes nothing.
func TestPreferencePage(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", Email: "c1@example.jp", Name: `<b>花子</b>`, Consent: customer.Consent{Email: true}})
	tok := url.QueryEscape(k.Sender.Unsubscribe.PreferencesToken("C1"))
	before := k.customer(t, "C1").Version

	w := k.do(http.MethodGet, "/preferences?t="+tok, nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "ニュースレター") || !strings.Contains(w.Body.String(), `value="newsletter" checked`) {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "花子") {
		t.Error("the page shows the customer's name")
	}
	if w := k.do(http.MethodHead, "/preferences?t="+tok, nil); w.Code != http.StatusOK {
		t.Errorf("HEAD: %d", w.Code)
	}
	if c := k.customer(t, "C1"); c.Version != before || len(k.consentOf(t, "C1")) != 0 {
		t.Fatalf("GET or HEAD changed the customer (version %d → %d)", before, c.Version)
	}

	// Forged, tampered, another kind of link, an empty POST: refused, nothing changed.
	forged := url.Values{"form": {"topics"}, "topic": {"events"}}
	for name, target := range map[string]string{
		"forged":            "/preferences?t=QzE.AAAA",
		"tampered":          "/preferences?t=" + strings.Replace(tok, "Q", "R", 1),
		"unsubscribe token": "/preferences?t=" + url.QueryEscape(k.Sender.Unsubscribe.Token("C1", customer.Email)),
	} {
		if w := k.do(http.MethodPost, target, forged); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "リンクが正しくありません") {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
	if w := k.do(http.MethodPost, "/preferences?t="+tok, url.Values{}); w.Code != http.StatusBadRequest {
		t.Errorf("empty POST: %d", w.Code)
	}
	if c := k.customer(t, "C1"); c.Version != before || len(k.consentOf(t, "C1")) != 0 {
		t.Fatal("a refused POST changed the customer")
	}

	// The form: everything but the newsletter and events.
	keep := url.Values{"form": {"topics"}, "topic": {"birthday", "points", "follow-up"}}
	if w := k.do(http.MethodPost, "/preferences?t="+tok, keep); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "保存しました") {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	c := k.customer(t, "C1")
	if !c.Stopped("newsletter") || !c.Stopped("events") || c.Stopped("birthday") || !c.Consent.Email {
		t.Errorf("preferences %v, email consent %v", c.Preferences, c.Consent.Email)
	}
	recs := k.consentOf(t, "C1")
	if len(recs) != 2 || recs[0].Topic != "newsletter" || recs[1].Topic != "events" || recs[0].Consent || recs[0].How != customer.ByPreferencePage {
		t.Errorf("consent records %+v", recs)
	}
	// The same form again changes nothing more.
	k.do(http.MethodPost, "/preferences?t="+tok, keep)
	if n := len(k.consentOf(t, "C1")); n != 2 {
		t.Errorf("%d records after the same form twice", n)
	}
	if w := k.do(http.MethodGet, "/preferences?t="+tok, nil); strings.Contains(w.Body.String(), `value="newsletter" checked`) {
		t.Error("the page still shows the newsletter as on")
	}
}

// The List-Unsubscribe one-click of a topic's email stops that topic only;
// the footer's link still stops all email.
func TestOneClickStopsTheEmailsTopic(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", Email: "c1@example.jp", Consent: customer.Consent{Email: true}})
	topic := url.QueryEscape(k.Sender.Unsubscribe.TopicToken("C1", customer.Email, "newsletter"))
	if w := k.do(http.MethodPost, "/unsubscribe?t="+topic, url.Values{"List-Unsubscribe": {"One-Click"}}); w.Code != http.StatusOK {
		t.Fatalf("one-click: %d %s", w.Code, w.Body)
	}
	if c := k.customer(t, "C1"); !c.Stopped("newsletter") || c.Stopped("birthday") || !c.Consent.Email {
		t.Errorf("after one-click: %v, email %v", c.Preferences, c.Consent.Email)
	}
	all := url.QueryEscape(k.Sender.Unsubscribe.Token("C1", customer.Email))
	if w := k.do(http.MethodPost, "/unsubscribe?t="+all, nil); w.Code != http.StatusOK {
		t.Fatalf("footer link: %d", w.Code)
	}
	if c := k.customer(t, "C1"); c.Consent.Email {
		t.Error("the footer's link did not stop all email")
	}
	recs := k.consentOf(t, "C1")
	if len(recs) != 2 || recs[0].Topic != "newsletter" || recs[1].Channel != customer.Email || recs[1].How != customer.ByUnsubscribeLink {
		t.Errorf("records %+v", recs)
	}
}

// A group_unsubscribe names the topic's SendGrid group: that topic stops,
// once however often SendGrid delivers it; a group_resubscribe restarts it.
func TestGroupUnsubscribeStopsTheTopic(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", Email: sampleEmail, Consent: customer.Consent{Email: true}})
	group := func(event, id string) []byte {
		b, _ := json.Marshal([]map[string]any{{"email": sampleEmail, "timestamp": k.Clock.Now().Unix(), "event": event,
			"sg_event_id": id, "asm_group_id": 30101}})
		return b
	}
	k.sendSendGrid(t, group("group_unsubscribe", "g-1"))
	k.Clock.Advance(time.Minute)
	k.sendSendGrid(t, group("group_unsubscribe", "g-1")) // redelivered
	c := k.customer(t, "C1")
	if !c.Stopped("newsletter") || c.Stopped("events") || !c.Consent.Email || c.Consent.EmailStatus != customer.Reachable {
		t.Fatalf("after group_unsubscribe: prefs %v, consent %+v", c.Preferences, c.Consent)
	}
	if recs := k.consentOf(t, "C1"); len(recs) != 1 || recs[0].How != customer.BySendGridEvent || recs[0].Topic != "newsletter" {
		t.Errorf("records %+v", recs)
	}
	k.sendSendGrid(t, group("group_resubscribe", "g-2"))
	if c := k.customer(t, "C1"); c.Stopped("newsletter") {
		t.Error("group_resubscribe did not restart the newsletter")
	}
	if n := len(k.consentOf(t, "C1")); n != 2 {
		t.Errorf("%d records, want 2", n)
	}
}

// On LINE, 「配信設定」 (or a rich menu's pref=menu) answers with the topics
// as buttons; a tap stops one, once however often LINE delivers it.
func TestLINEPreferenceMenu(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", LINEUserID: sampleUser, Consent: customer.Consent{LINE: true}})
	event := func(id string, ev map[string]any) []byte {
		ev["webhookEventId"], ev["timestamp"], ev["replyToken"], ev["mode"] = id, sampleAt.UnixMilli(), "rt-"+id, "active"
		ev["source"] = map[string]any{"type": "user", "userId": sampleUser}
		ev["deliveryContext"] = map[string]any{"isRedelivery": false}
		b, _ := json.Marshal(map[string]any{"destination": "U123", "events": []any{ev}})
		return b
	}
	k.sendLINE(t, event("M1", map[string]any{"type": "message", "message": map[string]any{"type": "text", "id": "m1", "quoteToken": "q", "text": "配信設定"}}))
	replies := k.Capture.Requests("line")
	if len(replies) != 1 || !strings.Contains(string(replies[0].Body), `pref=off\u0026t=newsletter`) {
		t.Fatalf("menu replies %d: %s", len(replies), firstBody(replies))
	}
	if fbs := k.feedbackOf(t, "C1"); len(fbs) != 0 {
		t.Errorf("the menu request was kept as feedback: %+v", fbs)
	}
	tap := event("P1", map[string]any{"type": "postback", "postback": map[string]any{"data": "pref=off&t=newsletter"}})
	k.sendLINE(t, tap)
	k.sendLINE(t, tap) // redelivered
	c := k.customer(t, "C1")
	if !c.Stopped("newsletter") || !c.Consent.LINE {
		t.Fatalf("after the tap: %v", c.Preferences)
	}
	if recs := k.consentOf(t, "C1"); len(recs) != 1 || recs[0].How != customer.ByLINEMenu {
		t.Errorf("records %+v", recs)
	}
	k.sendLINE(t, event("P2", map[string]any{"type": "postback", "postback": map[string]any{"data": "pref=on&t=newsletter"}}))
	if c := k.customer(t, "C1"); c.Stopped("newsletter") {
		t.Error("pref=on did not restart it")
	}
}

func firstBody(reqs []capture.Request) string {
	if len(reqs) == 0 {
		return ""
	}
	return string(reqs[0].Body)
}
