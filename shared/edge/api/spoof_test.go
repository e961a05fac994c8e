package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/flows/webhooks"
)

// inboundMail builds an Inbound Parse request as SendGrid posts it.
func inboundMail(fields map[string]string) []byte {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.SetBoundary("xYzZY")
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	return b.Bytes()
}

// A From is trivial to forge. A reply that names no message of ours is
// credited to the owner of its From only when SPF or DKIM vouches for that
// address's domain; otherwise it is kept for staff, credited to no one, and
// marks no message replied.
func TestSpoofedEmailRepliesAreNotCredited(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, spf, dkim string
		credited        bool
	}{
		{"SPF and DKIM fail", "fail", "{@example.jp : fail}", false},
		{"DKIM passes for another domain", "softfail", "{@evil.example : pass}", false},
		{"no results at all", "", "", false},
		{"SPF passes for the sender", "pass", "", true},
		{"DKIM passes for the sender's domain", "none", "{@evil.example : fail, @example.jp : pass}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newHook(t)
			k.seed(t, &customer.Customer{ID: "C1", Email: "hanako@example.jp", Consent: customer.Consent{Email: true}})
			last := k.sent(t, message.ThankYou, "C1", customer.Email, k.Clock.Now().Add(-time.Hour))
			// A reply address in the right shape whose token names no message.
			forged := "reply+" + strings.Repeat("ab", 16) + "@reply.komorebi.example.jp"
			body := inboundMail(map[string]string{
				"from": "Hanako <hanako@example.jp>", "to": forged, "subject": "Re: ご注文",
				"text": "もう二度と買いません。", "SPF": tt.spf, "dkim": tt.dkim,
				"envelope": `{"to":["` + forged + `"],"from":"hanako@example.jp"}`,
			})
			if w := postInbound(k.h, "/webhooks/sendgrid/inbound/"+inboundToken, inboundType, body); w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if k.ProcessWebhooks(t) != 0 {
				t.Fatal("batch failed")
			}
			mine, unknown := k.feedbackOf(t, "C1"), k.feedbackOf(t, webhooks.UnknownSender)
			rec, _ := k.Store.Message(context.Background(), last)
			if tt.credited {
				if len(mine) != 1 || rec.Status != message.Replied {
					t.Errorf("a vouched-for reply: %d feedback of C1, message %s; want credited", len(mine), rec.Status)
				}
				return
			}
			if len(mine) != 0 || len(unknown) != 1 || rec.Status == message.Replied {
				t.Errorf("a forged reply: %d feedback of C1, %d unattributed, message %s; want it kept unattributed only",
					len(mine), len(unknown), rec.Status)
			}
			fwd := k.Capture.Requests("email")
			if len(fwd) != 1 || !strings.Contains(string(fwd[0].Body), "SPF / DKIM") {
				t.Errorf("the forward to the shop must say the sender is unverified: %d forwards", len(fwd))
			}
		})
	}
}

// A reply to a message's own reply address is that message's customer's,
// but the forward says when it came from an address that is not theirs.
func TestReplyFromAnotherAddressIsFlagged(t *testing.T) {
	t.Parallel()
	k := newHook(t)
	k.seed(t, &customer.Customer{ID: "C1", Email: "hanako@example.jp", Consent: customer.Consent{Email: true}})
	job := message.Job{Key: message.NewKey(message.ThankYou, "C1", "order:O-1"), Kind: message.ThankYou, CustomerID: "C1", Rank: "new"}
	if err := k.Sender.Send(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	var sent struct {
		ReplyTo struct{ Email string } `json:"reply_to"`
	}
	_ = json.Unmarshal(k.Capture.Requests("email")[0].Body, &sent)
	body := inboundMail(map[string]string{
		"from": "someone@elsewhere.example", "to": sent.ReplyTo.Email, "subject": "Re: ご注文", "text": "転送します。",
		"envelope": `{"to":["` + sent.ReplyTo.Email + `"],"from":"someone@elsewhere.example"}`,
	})
	if w := postInbound(k.h, "/webhooks/sendgrid/inbound/"+inboundToken, inboundType, body); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	k.ProcessWebhooks(t)
	if fbs := k.feedbackOf(t, "C1"); len(fbs) != 1 || fbs[0].MessageKey != job.Key {
		t.Fatalf("feedback %+v; want the reply on its message", fbs)
	}
	mails := k.Capture.Requests("email")
	if len(mails) != 2 || !strings.Contains(string(mails[1].Body), "一致しません") {
		t.Errorf("the forward must say the sender's address is not the customer's")
	}
}
