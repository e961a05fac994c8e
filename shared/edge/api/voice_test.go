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

// A feedback request goes out as the plan step would send it: on LINE with
// rating buttons, by email with a link per rating; both valid by the
// providers' specs.
func TestFeedbackRequestOnBothChannels(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	specs := apispec.ForTest(t)
	ctx := context.Background()
	k.seed(t, &customer.Customer{ID: "L1", LINEUserID: sampleUser, Consent: customer.Consent{LINE: true}})
	k.seed(t, &customer.Customer{ID: "E1", Email: "hanako@example.jp", Consent: customer.Consent{Email: true}})
	for _, id := range []string{"L1", "E1"} {
		job := message.Job{Key: message.NewKey(message.Feedback, id, "plan:new:feedback:2026-11-23"), Kind: message.Feedback,
			CustomerID: id, Rank: "new", Template: "feedback/after-purchase", Plan: "new", Step: "feedback"}
		if err := k.Sender.Send(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	lines := k.Capture.Requests("line")
	if len(lines) != 1 {
		t.Fatalf("%d LINE requests", len(lines))
	}
	if err := specs.ValidateLinePush(lines[0].Body); err != nil {
		t.Errorf("LINE feedback request: %v\n%s", err, lines[0].Body)
	}
	var push struct {
		Messages []struct {
			QuickReply struct {
				Items []struct {
					Action struct{ Type, Label, Data string }
				}
			}
		}
	}
	if err := json.Unmarshal(lines[0].Body, &push); err != nil {
		t.Fatal(err)
	}
	items := push.Messages[0].QuickReply.Items
	if len(items) != 5 {
		t.Fatalf("%d rating buttons", len(items))
	}
	for i, it := range items {
		p, err := feedback.ParsePostback(it.Action.Data)
		if err != nil || it.Action.Type != "postback" || p.Rating != i+1 || p.Message != "feedback|L1|plan:new:feedback:2026-11-23" {
			t.Errorf("button %d: %+v → %+v %v", i, it.Action, p, err)
		}
	}

	mails := k.Capture.Requests("email")
	if len(mails) != 1 {
		t.Fatalf("%d emails", len(mails))
	}
	if err := specs.ValidateSendGridMail(mails[0].Body); err != nil {
		t.Errorf("email feedback request: %v", err)
	}
	links := regexp.MustCompile(`https://api\.example\.jp/feedback\?t=[A-Za-z0-9._~%-]+(\\u0026|\\u0026amp;)r=[1-5]`).FindAllString(string(mails[0].Body), -1)
	if len(links) < 5 {
		t.Fatalf("%d rating links in the email:\n%s", len(links), mails[0].Body)
	}

	// The customer follows the ★4 link: the page asks, nothing is recorded yet.
	link := strings.ReplaceAll(strings.ReplaceAll(links[3], `\u0026amp;`, "&"), `\u0026`, "&")
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	k.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, u.RequestURI(), nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `value="4" checked`) {
		t.Fatalf("form: %d %s", w.Code, w.Body)
	}
	// Link scanners send HEAD too: only POST records anything.
	w = httptest.NewRecorder()
	k.h.ServeHTTP(w, httptest.NewRequest(http.MethodHead, u.RequestURI()+"&comment=x&testimonial=yes", nil))
	if w.Code != 200 {
		t.Errorf("HEAD: %d", w.Code)
	}
	if fbs := k.feedbackOf(t, "E1"); len(fbs) != 0 {
		t.Fatal("opening the link recorded feedback")
	}
	// They submit a comment and allow publishing it.
	form := url.Values{"t": {u.Query().Get("t")}, "r": {"4"}, "comment": {"包装がていねいで、贈り物にも安心です。"}, "testimonial": {"yes"}}
	req := httptest.NewRequest(http.MethodPost, "/feedback", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	k.h.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("submit: %d %s", w.Code, w.Body)
	}
	fbs := k.feedbackOf(t, "E1")
	if len(fbs) != 2 {
		t.Fatalf("%d feedback items, want the rating and the comment", len(fbs))
	}
	if rec, _ := k.Store.Message(ctx, message.NewKey(message.Feedback, "E1", "plan:new:feedback:2026-11-23")); rec.Status != message.Replied {
		t.Errorf("answered request: status %q", rec.Status)
	}

	// A forged or tampered token changes nothing.
	form.Set("t", u.Query().Get("t")+"x")
	req = httptest.NewRequest(http.MethodPost, "/feedback", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	k.h.ServeHTTP(w, req)
	if w.Code != 400 || len(k.feedbackOf(t, "E1")) != 2 {
		t.Errorf("tampered token: %d", w.Code)
	}
}

func TestCustomerVoiceExport(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	ctx := context.Background()
	k.seed(t, &customer.Customer{ID: "C1", Name: "佐藤 花子", Email: "hanako@example.jp", Birthday: "1990-04-01",
		Gender: customer.Female, Rank: "repeater:lapsed"})
	k.seed(t, &customer.Customer{ID: "C2", Name: "鈴木 一郎", Rank: "royal"})
	at := k.Clock.Now()
	for _, f := range []feedback.Feedback{
		{ID: "old", CustomerID: "C1", Type: feedback.Comment, Text: "前から愛用しています", At: at.Add(-48 * time.Hour), Rating: 5},
		{ID: "new", CustomerID: "C2", Type: feedback.Comment, Text: "贈り物に喜ばれました", At: at.Add(-time.Hour)},
		{ID: "private", CustomerID: "C2", Type: feedback.Comment, Text: "社内だけでどうぞ", At: at},
		{ID: "unasked", CustomerID: "C1", Type: feedback.Comment, Text: "まだ聞いていない", At: at},
	} {
		switch f.ID {
		case "old", "new":
			f.SetTestimonial(true)
		case "private":
			f.SetTestimonial(false)
		}
		if err := k.Store.SaveFeedback(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	get := func(q string, auth bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/voice"+q, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		k.h.ServeHTTP(w, req)
		return w
	}
	if w := get("", false); w.Code != 401 {
		t.Errorf("without the token: %d", w.Code)
	}
	w := get("?format=json", true)
	var got struct{ Testimonials []feedback.Testimonial }
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err, w.Body)
	}
	if len(got.Testimonials) != 2 || got.Testimonials[0].ID != "new" || got.Testimonials[1].ID != "old" {
		t.Fatalf("testimonials %+v; want new then old, nothing else", got.Testimonials)
	}
	if p := got.Testimonials[1].Profile; p != "30代・女性・リピーター" {
		t.Errorf("profile %q", p)
	}
	md := get("?format=markdown", true).Body.String()
	for _, leak := range []string{"佐藤", "鈴木", "hanako", "社内だけ", "まだ聞いていない"} {
		if strings.Contains(md, leak) {
			t.Errorf("export contains %q:\n%s", leak, md)
		}
	}
	if csv := get("?format=csv", true); !strings.HasPrefix(csv.Body.String(), "id,date,profile,rating,comment") {
		t.Errorf("csv: %s", csv.Body)
	}
	if w := get("?format=pdf", true); w.Code != 400 {
		t.Errorf("unknown format: %d", w.Code)
	}
	// Withdrawn (the customer asked the shop): gone from the next export.
	if err := k.Voice.Withdraw(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	ts, err := k.Voice.Testimonials(ctx, 0)
	if err != nil || len(ts) != 1 || ts[0].ID != "new" {
		t.Errorf("after withdrawal: %+v %v", ts, err)
	}
}
