package api_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// Every way consent changes leaves a record with its "how", and the
// customer's timeline shows each.
func TestConsentRecordsForEveryHowInTheTimeline(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	ctx := context.Background()
	if _, err := k.Intake.RecordOrder(ctx, customer.Order{ID: "O1", CustomerID: "C1", Total: 3800, OrderedAt: k.Clock.Now(),
		Contact: customer.Contact{Email: sampleEmail}}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Intake.ImportCustomer(ctx, &customer.Customer{ID: "C1", Email: sampleEmail, LINEUserID: sampleUser,
		Consent: customer.Consent{Email: true, LINE: true}}); err != nil {
		t.Fatal(err)
	}
	line := func(id string, at time.Time, ev map[string]any) []byte {
		ev["webhookEventId"], ev["timestamp"], ev["replyToken"], ev["mode"] = id, at.UnixMilli(), "rt-"+id, "active"
		ev["source"] = map[string]any{"type": "user", "userId": sampleUser}
		ev["deliveryContext"] = map[string]any{"isRedelivery": false}
		b, _ := json.Marshal(map[string]any{"destination": "U123", "events": []any{ev}})
		return b
	}
	now := k.Clock.Now()
	k.sendLINE(t, line("U1", now, map[string]any{"type": "unfollow"}))
	k.sendLINE(t, line("F1", now.Add(time.Second), map[string]any{"type": "follow"}))
	k.sendLINE(t, line("P1", now.Add(2*time.Second), map[string]any{"type": "postback", "postback": map[string]any{"data": "pref=off&t=events"}}))
	k.sendLINE(t, line("T1", now.Add(3*time.Second), map[string]any{"type": "message",
		"message": map[string]any{"type": "text", "id": "t1", "quoteToken": "q", "text": "少なめに"}}))
	k.do(http.MethodPost, "/preferences?t="+url.QueryEscape(k.Sender.Unsubscribe.PreferencesToken("C1")),
		url.Values{"form": {"topics"}, "topic": {"newsletter", "points", "follow-up"}})
	b, _ := json.Marshal([]map[string]any{{"email": sampleEmail, "timestamp": now.Unix(), "event": "group_unsubscribe",
		"sg_event_id": "g-1", "asm_group_id": 30101}})
	k.sendSendGrid(t, b)
	k.do(http.MethodPost, "/unsubscribe?t="+url.QueryEscape(k.Sender.Unsubscribe.Token("C1", customer.Email)), nil)
	if _, err := k.Webhooks.SetConsent(ctx, "C1", customer.Email, true, "asked at the shop counter to hear from us again"); err != nil {
		t.Fatal(err)
	}

	req := httptest.NewRequest(http.MethodGet, "/customers/C1/timeline", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	k.h.ServeHTTP(w, req)
	var tl struct {
		Entries []struct {
			Type    string                  `json:"type"`
			Summary string                  `json:"summary"`
			Consent *customer.ConsentChange `json:"consent"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tl); err != nil || w.Code != http.StatusOK {
		t.Fatalf("timeline: %d %s", w.Code, w.Body)
	}
	seen := map[customer.How]bool{}
	for _, e := range tl.Entries {
		if e.Type == "consent" {
			seen[e.Consent.How] = true
			if !strings.Contains(e.Summary, string(e.Consent.How)) {
				t.Errorf("summary %q does not say how", e.Summary)
			}
		}
	}
	for _, how := range customer.Hows {
		if !seen[how] {
			t.Errorf("no %s record in the timeline (seen %v)", how, seen)
		}
	}
	if c := k.customer(t, "C1"); !c.Consent.Email || c.Consent.EmailStatus != customer.Reachable {
		t.Errorf("after staff gave consent again: %+v", c.Consent)
	}
}

// Staff change consent only with a reason; without one nothing changes.
func TestStaffConsentNeedsAReason(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", Email: "c1@example.jp", Consent: customer.Consent{Email: true}})
	if _, err := k.Webhooks.SetConsent(context.Background(), "C1", customer.Email, false, "  "); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("no reason: %v", err)
	}
	if c := k.customer(t, "C1"); !c.Consent.Email || len(k.consentOf(t, "C1")) != 0 {
		t.Error("a refused staff change changed something")
	}
	if changed, err := k.Webhooks.SetConsent(context.Background(), "C1", customer.Email, false, "phoned to stop all email"); err != nil || !changed {
		t.Fatal(changed, err)
	}
	recs := k.consentOf(t, "C1")
	if len(recs) != 1 || recs[0].How != customer.ByStaff || recs[0].Cause != "phoned to stop all email" || recs[0].Consent {
		t.Errorf("records %+v", recs)
	}
}

// A customer SendGrid holds in the newsletter group's suppression list (a
// group unsubscribe) who restarts the newsletter, on the page or on LINE, is
// taken off that list, so the newsletter reaches them again; stopping takes
// no one off, and a topic restarted twice asks SendGrid twice, harmlessly.
func TestRestartingATopicLiftsSendGridsGroupSuppression(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	news, _ := k.Content.Policy.Topics.ByID("newsletter")
	k.seed(t, &customer.Customer{ID: "C1", Email: "c1@example.jp", Consent: customer.Consent{Email: true}})
	tok := url.QueryEscape(k.Sender.Unsubscribe.PreferencesToken("C1"))
	all := url.Values{"form": {"topics"}, "topic": {"birthday", "points", "follow-up", "events"}}
	if w := k.do(http.MethodPost, "/preferences?t="+tok, all); w.Code != http.StatusOK {
		t.Fatalf("stop: %d", w.Code)
	}
	if n := len(k.Capture.Requests("sendgrid-asm")); n != 0 {
		t.Fatalf("stopping a topic took %d suppressions off", n)
	}
	all["topic"] = append(all["topic"], "newsletter")
	if w := k.do(http.MethodPost, "/preferences?t="+tok, all); w.Code != http.StatusOK {
		t.Fatalf("restart: %d", w.Code)
	}
	reqs := k.Capture.Requests("sendgrid-asm")
	want := fmt.Sprintf("/v3/asm/groups/%d/suppressions/c1@example.jp", news.Group)
	if len(reqs) != 1 || reqs[0].Path != want {
		t.Fatalf("requests %+v; want one DELETE of %s", reqs, want)
	}
	if k.customer(t, "C1").Stopped("newsletter") {
		t.Error("the newsletter is still stopped")
	}

	// On LINE: a friend with an address restarts it from the menu.
	friend := &customer.Customer{ID: "L1", LINEUserID: sampleUser, Email: "l1@example.jp", Consent: customer.Consent{LINE: true, Email: true}}
	friend.SetTopic("newsletter", false, sampleAt.Add(-time.Hour), customer.ByLINEMenu, "test")
	k.seed(t, friend)
	k.sendLINE(t, lineEvent("P1", sampleAt, map[string]any{"type": "postback", "postback": map[string]any{"data": "pref=on&t=newsletter"}}))
	want = fmt.Sprintf("/v3/asm/groups/%d/suppressions/l1@example.jp", news.Group)
	if reqs := k.Capture.Requests("sendgrid-asm"); len(reqs) != 2 || reqs[1].Path != want {
		t.Errorf("requests %+v; want a DELETE of %s", reqs, want)
	}
}
