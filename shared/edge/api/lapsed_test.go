package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/apispec"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// A lapsed royal customer's note from the owner asks why they stopped: on
// LINE with a button per answer, by email with a link per answer that opens
// a page to confirm. Each answer is feedback on the note, recorded once.
func TestWhyStoppedOnBothChannels(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	specs := apispec.ForTest(t)
	ctx := context.Background()
	k.seed(t, &customer.Customer{ID: "L1", Name: "佐藤 花子", LINEUserID: sampleUser, Rank: "royal:lapsed", Consent: customer.Consent{LINE: true}})
	k.seed(t, &customer.Customer{ID: "E1", Name: "鈴木 一郎", Email: "ichiro@example.jp", Rank: "royal:lapsed", Consent: customer.Consent{Email: true}})
	note := func(id string) message.Key {
		job := message.Job{Key: message.NewKey(message.Lapsed, id, "plan:royal:lapsed:owner-note:2026-12-01"), Kind: message.Lapsed,
			CustomerID: id, Rank: "royal:lapsed", Template: "lapsed/royal-note", Plan: "royal:lapsed", Step: "owner-note", Ask: "why-stopped"}
		if err := k.Sender.Send(ctx, job); err != nil {
			t.Fatal(err)
		}
		return job.Key
	}
	lineNote, mailNote := note("L1"), note("E1")
	why := k.Content.Feedback.Questions["why-stopped"]

	// LINE: the question's choices are buttons under the note.
	pushes := k.Capture.Requests("line")
	if len(pushes) != 1 {
		t.Fatalf("%d LINE requests", len(pushes))
	}
	if err := specs.ValidateLinePush(pushes[0].Body); err != nil {
		t.Errorf("LINE note: %v\n%s", err, pushes[0].Body)
	}
	var push struct {
		Messages []struct {
			Text       string
			QuickReply struct {
				Items []struct {
					Action struct{ Type, Label, Data string }
				}
			}
		}
	}
	if err := json.Unmarshal(pushes[0].Body, &push); err != nil {
		t.Fatal(err)
	}
	items := push.Messages[0].QuickReply.Items
	if len(items) != len(why.Choices) || !strings.Contains(push.Messages[0].Text, why.Ask) {
		t.Fatalf("%d buttons for %d choices; text:\n%s", len(items), len(why.Choices), push.Messages[0].Text)
	}
	for i, it := range items {
		p, err := feedback.ParsePostback(it.Action.Data)
		if err != nil || p.Type != feedback.Answer || p.Question != "why-stopped" || p.Value != why.Choices[i].Value || p.Message != lineNote || it.Action.Label != why.Choices[i].Label {
			t.Errorf("button %d: %+v → %+v %v", i, it.Action, p, err)
		}
	}
	// The customer taps 価格; LINE delivers the tap twice.
	tap := lineEvent("T1", sampleAt, map[string]any{"type": "postback",
		"postback": map[string]any{"data": items[1].Action.Data}})
	k.sendLINE(t, tap)
	k.sendLINE(t, tap)
	fbs := k.feedbackOf(t, "L1")
	if len(fbs) != 1 || fbs[0].Type != feedback.Answer || fbs[0].Question != "why-stopped" || fbs[0].Answer != why.Choices[1].Value ||
		fbs[0].MessageKey != lineNote || fbs[0].Kind != message.Lapsed {
		t.Fatalf("feedback after the tap, delivered twice: %+v", fbs)
	}
	replies := k.Capture.Requests("line")[1:]
	if len(replies) != 1 || replies[0].Path != "/v2/bot/message/reply" || !strings.Contains(string(replies[0].Body), jsonText(why.Thanks)) {
		t.Fatalf("want one thanks reply, got %d requests", len(replies))
	}

	// Email: a link per answer.
	mails := k.Capture.Requests("email")
	if len(mails) != 1 {
		t.Fatalf("%d emails", len(mails))
	}
	if err := specs.ValidateSendGridMail(mails[0].Body); err != nil {
		t.Errorf("email note: %v", err)
	}
	links := regexp.MustCompile(`https://api\.example\.jp/feedback/answer\?t=[A-Za-z0-9._~%-]+`).FindAllString(string(mails[0].Body), -1)
	if len(links) < len(why.Choices) {
		t.Fatalf("%d answer links in the email:\n%s", len(links), mails[0].Body)
	}
	u, err := url.Parse(links[len(why.Choices)-1]) // その他, in the HTML part
	if err != nil {
		t.Fatal(err)
	}
	// Opening the link (or a scanner's HEAD) asks to confirm and records nothing.
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		w := httptest.NewRecorder()
		k.h.ServeHTTP(w, httptest.NewRequest(method, u.RequestURI(), nil))
		if w.Code != 200 || (method == http.MethodGet && !strings.Contains(w.Body.String(), why.Choices[len(why.Choices)-1].Label)) {
			t.Fatalf("%s: %d %s", method, w.Code, w.Body)
		}
	}
	if fbs := k.feedbackOf(t, "E1"); len(fbs) != 0 {
		t.Fatal("opening the link recorded an answer")
	}
	post := func(tok string) int {
		req := httptest.NewRequest(http.MethodPost, "/feedback/answer", strings.NewReader(url.Values{"t": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		k.h.ServeHTTP(w, req)
		return w.Code
	}
	if code := post(u.Query().Get("t") + "x"); code != 400 || len(k.feedbackOf(t, "E1")) != 0 {
		t.Fatalf("a tampered answer: %d", code)
	}
	for range 2 { // confirmed twice: one answer
		if code := post(u.Query().Get("t")); code != 200 {
			t.Fatalf("confirm: %d", code)
		}
	}
	fbs = k.feedbackOf(t, "E1")
	if len(fbs) != 1 || fbs[0].Question != "why-stopped" || fbs[0].Answer != why.Choices[len(why.Choices)-1].Value || fbs[0].MessageKey != mailNote {
		t.Fatalf("feedback after the email answer: %+v", fbs)
	}
	if rec, _ := k.Store.Message(ctx, mailNote); rec.Status != message.Replied {
		t.Errorf("answered note: status %q", rec.Status)
	}
	// They change their mind, then change it back: one answer, the latest.
	first, err := url.Parse(links[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{first.Query().Get("t"), u.Query().Get("t")} {
		k.Clock.Advance(time.Minute)
		if code := post(tok); code != 200 {
			t.Fatalf("confirm: %d", code)
		}
	}
	if fbs := k.feedbackOf(t, "E1"); len(fbs) != 1 || fbs[0].Answer != why.Choices[len(why.Choices)-1].Value {
		t.Errorf("after answering その他, %s, then その他 again: %+v", why.Choices[0].Value, fbs)
	}
}

// The come-back note speaks of what the customer last bought: the sender
// reads their latest order for a template that uses it.
func TestComeBackSpeaksOfTheLatestOrder(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	ctx := context.Background()
	k.seed(t, &customer.Customer{ID: "E1", Name: "鈴木 一郎", Email: "ichiro@example.jp", Rank: "repeater", Consent: customer.Consent{Email: true}})
	for i, it := range []customer.Item{{SKU: "CUP-01", Name: "益子焼 マグカップ 藍", Quantity: 1, Price: 3800},
		{SKU: "TEA-01", Name: "八女茶 詰め合わせ", Quantity: 1, Price: 5400}} {
		o := customer.Order{ID: "O-" + it.SKU, CustomerID: "E1", Total: it.Price, Items: []customer.Item{it},
			OrderedAt: k.Clock.Now().AddDate(0, -8+i, 0)}
		if _, err := k.Intake.RecordOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	job := message.Job{Key: message.NewKey(message.Lapsed, "E1", "plan:repeater:lapsed:come-back:2026-12-01"), Kind: message.Lapsed,
		CustomerID: "E1", Rank: "repeater:lapsed", Template: "lapsed/repeater-come-back", Plan: "repeater:lapsed", Step: "come-back"}
	if err := k.Sender.Send(ctx, job); err != nil {
		t.Fatal(err)
	}
	mails := k.Capture.Requests("email")
	if len(mails) != 1 {
		t.Fatalf("%d emails", len(mails))
	}
	body := string(mails[0].Body)
	if !strings.Contains(body, "八女茶 詰め合わせ") || strings.Contains(body, "マグカップ 藍") {
		t.Errorf("the come-back does not speak of the latest order (the tea):\n%s", body)
	}
}

// lineEvent is a LINE webhook body of one event from sampleUser.
func lineEvent(id string, at time.Time, ev map[string]any) []byte {
	ev["webhookEventId"], ev["timestamp"], ev["replyToken"], ev["mode"] = id, at.UnixMilli(), "rt-"+id, "active"
	ev["source"] = map[string]any{"type": "user", "userId": sampleUser}
	ev["deliveryContext"] = map[string]any{"isRedelivery": false}
	b, _ := json.Marshal(map[string]any{"destination": "U123", "events": []any{ev}})
	return b
}

// jsonText is s as it appears inside a JSON string.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
