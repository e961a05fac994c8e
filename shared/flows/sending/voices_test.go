package sending_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// The prospects' "stories" step quotes only what customers agreed to
// publish, without their names; with nothing to quote it quotes nobody.
func TestStoriesQuoteOnlyConsentedCustomerVoice(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	stories := func(id string) string {
		t.Helper()
		p := &customer.Customer{ID: id, Name: "林 結子", Email: strings.ToLower(id) + "@example.jp", Rank: "prospect",
			Consent: customer.Consent{Email: true}}
		if err := r.Store.SaveCustomer(ctx, p); err != nil {
			t.Fatal(err)
		}
		job := message.Job{Key: message.NewKey(message.Step, id, "plan:prospect:stories"), Kind: message.Step, CustomerID: id,
			Rank: "prospect", Template: "step/prospect-stories", Plan: "prospect", Step: "stories"}
		if err := r.Sender.Send(ctx, job); err != nil {
			t.Fatal(err)
		}
		mails := r.Capture.Requests("email")
		return string(mails[len(mails)-1].Body)
	}

	none := stories("P1")
	if strings.Contains(none, "代・") || strings.Contains(none, "お客様から届いたお声") || strings.Contains(none, "了承") {
		t.Errorf("with no consented voice the message quotes someone:\n%s", none)
	}

	author := &customer.Customer{ID: "C9", Name: "佐藤 花子", Gender: customer.Female, Rank: "repeater", Birthday: "1990-05-01"}
	if err := r.Store.SaveCustomer(ctx, author); err != nil {
		t.Fatal(err)
	}
	published := feedback.Feedback{ID: "line-E1", CustomerID: "C9", Channel: customer.LINE, Type: feedback.Comment,
		Text: "湯のみが手になじんできました。", Rating: 5, At: r.Clock.Now().Add(-time.Hour)}
	published.SetTestimonial(true)
	refused := feedback.Feedback{ID: "line-E2", CustomerID: "C9", Channel: customer.LINE, Type: feedback.Comment,
		Text: "載せないでください。", At: r.Clock.Now().Add(-time.Minute)}
	refused.SetTestimonial(false)
	for _, f := range []feedback.Feedback{published, refused} {
		if err := r.Store.SaveFeedback(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	r.Clock.Advance(2 * time.Minute) // past the quotes' cache
	quoted := stories("P2")
	if !strings.Contains(quoted, "湯のみが手になじんできました。") || !strings.Contains(quoted, "30代・女性・リピーター") {
		t.Errorf("the consented comment and its anonymous profile are missing:\n%s", quoted)
	}
	if strings.Contains(quoted, "載せないでください") || strings.Contains(quoted, "佐藤") {
		t.Errorf("the message quotes a refused comment or names its author:\n%s", quoted)
	}
}

// A consented comment thousands of characters long is quoted as an excerpt:
// it must not push a LINE message past LINE's 5,000 characters.
func TestALongCommentIsQuotedAsAnExcerpt(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	long := feedback.Feedback{ID: "line-L", CustomerID: "C9", Channel: customer.LINE, Type: feedback.Comment,
		Text: strings.Repeat("器がとても好きです。", 500), At: r.Clock.Now().Add(-time.Hour)}
	long.SetTestimonial(true)
	if err := r.Store.SaveFeedback(ctx, long); err != nil {
		t.Fatal(err)
	}
	p := &customer.Customer{ID: "P1", LINEUserID: lineUser, Rank: "prospect", Consent: customer.Consent{LINE: true}}
	if err := r.Store.SaveCustomer(ctx, p); err != nil {
		t.Fatal(err)
	}
	job := message.Job{Key: message.NewKey(message.Step, "P1", "plan:prospect:stories"), Kind: message.Step, CustomerID: "P1",
		Rank: "prospect", Template: "step/prospect-stories", Plan: "prospect", Step: "stories"}
	if err := r.Sender.Send(ctx, job); err != nil {
		t.Fatal(err)
	}
	if rec := record(t, r, job.Key); rec.Status != message.Sent {
		t.Fatalf("status %s (%s), want sent", rec.Status, rec.Reason)
	}
	if body := string(r.Capture.Requests("line")[0].Body); !strings.Contains(body, "…」") {
		t.Error("the quote is not an excerpt")
	}
}
