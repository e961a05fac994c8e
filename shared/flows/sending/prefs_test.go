package sending_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/daifuku/daifuku/infra/apispec"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// A customer who stopped the newsletter gets no newsletter, on any
// channel, and the record says why; other topics and the thank-you still
// go. Every advertising email carries its topic's SendGrid unsubscribe
// group, the thank-you none, and every email links the preference page.
func TestSenderKeepsToTopicsAndCarriesTheirGroups(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	specs := apispec.ForTest(t)
	ctx := context.Background()
	thanks := seed(t, r, lineCustomer("C1"), 0, 3800) // reachable on LINE and by email
	c, err := r.Store.Customer(ctx, "C1")
	if err != nil {
		t.Fatal(err)
	}
	c.PreferredChannel = customer.Email
	c.SetTopic("newsletter", false, r.Clock.Now(), customer.ByPreferencePage, "")
	if err := r.Store.SaveCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	news := message.Job{Key: message.CampaignKey("C1", "winter"), Kind: message.Newsletter, CustomerID: "C1", Rank: "new",
		Template: "newsletter/2026-winter-default", Plan: message.CampaignPlan("winter")}
	step := message.Job{Key: message.NewKey(message.Step, "C1", "plan:new:care"), Kind: message.Step, CustomerID: "C1", Rank: "new",
		Template: "step/new-care", Plan: "new", Step: "care"}
	if err := r.Queue.Enqueue(ctx, news, step); err != nil {
		t.Fatal(err)
	}
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	if rec := record(t, r, news.Key); rec.Status != message.Skipped || !strings.Contains(rec.Reason, "newsletter") {
		t.Errorf("newsletter: %s (%s), want skipped for the stopped topic", rec.Status, rec.Reason)
	}
	for _, k := range []message.Key{thanks, step.Key} {
		if rec := record(t, r, k); rec.Status != message.Sent || rec.Channel != customer.Email {
			t.Errorf("%s: %s on %q (%s), want sent by email", k, rec.Status, rec.Channel, rec.Reason)
		}
	}
	if n := len(r.Capture.Requests("line")); n != 0 {
		t.Errorf("%d LINE requests: the stopped newsletter went by LINE instead?", n)
	}
	mails := r.Capture.Requests("email")
	if len(mails) != 2 {
		t.Fatalf("%d emails, want the thank-you and the step", len(mails))
	}
	for _, m := range mails {
		if err := specs.ValidateSendGridMail(m.Body); err != nil {
			t.Errorf("mail body invalid against the SendGrid spec: %v", err)
		}
		var body struct {
			ASM *struct {
				GroupID         int   `json:"group_id"`
				GroupsToDisplay []int `json:"groups_to_display"`
			} `json:"asm"`
			Headers    map[string]string        `json:"headers"`
			CustomArgs map[string]string        `json:"custom_args"`
			Content    []struct{ Value string } `json:"content"`
		}
		if err := json.Unmarshal(m.Body, &body); err != nil {
			t.Fatal(err)
		}
		text := body.Content[0].Value
		if !strings.Contains(text, "/preferences?t=") || !strings.Contains(text, "東京都渋谷区神宮前1-2-3") || !strings.Contains(text, "03-1234-5678") {
			t.Errorf("%s: footer lacks the preference link or the sender:\n%s", body.CustomArgs["kind"], text)
		}
		switch body.CustomArgs["kind"] {
		case string(message.ThankYou):
			if body.ASM != nil || body.Headers["List-Unsubscribe"] != "" {
				t.Errorf("the thank-you carries an unsubscribe group or header: %+v %v", body.ASM, body.Headers)
			}
		case string(message.Step):
			if body.ASM == nil || body.ASM.GroupID != 30105 || len(body.ASM.GroupsToDisplay) != 5 {
				t.Errorf("step: asm %+v, want the follow-up group 30105 and all five to display", body.ASM)
			}
			// The one-click header stops the topic; the footer's link all email.
			if u := body.Headers["List-Unsubscribe"]; u == "" || strings.Contains(text, strings.Trim(u, "<>")) {
				t.Errorf("List-Unsubscribe %q: want a topic link of its own", u)
			}
		default:
			t.Errorf("unexpected mail %v", body.CustomArgs)
		}
	}
}
