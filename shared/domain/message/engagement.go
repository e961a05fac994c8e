package message

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Engagement is what happened to a message after it was sent, as the
// provider's events and the customer's replies tell it.
type Engagement struct {
	DeliveredAt time.Time `dynamodbav:"delivered_at,omitempty"`
	OpenedAt    time.Time `dynamodbav:"opened_at,omitempty"`  // first open
	ClickedAt   time.Time `dynamodbav:"clicked_at,omitempty"` // first click
	RepliedAt   time.Time `dynamodbav:"replied_at,omitempty"` // first reply or answer
	Opens       int       `dynamodbav:"opens,omitempty"`
	Clicks      int       `dynamodbav:"clicks,omitempty"`
	Deferrals   int       `dynamodbav:"deferrals,omitempty"`
	// Complaint is how the customer turned the message down: "spamreport",
	// "unsubscribe" or "group_unsubscribe".
	Complaint string `dynamodbav:"complaint,omitempty"`
}

// Provider event types (SendGrid's names; LINE has no delivery events).
const (
	EvProcessed        = "processed"
	EvDeferred         = "deferred"
	EvDelivered        = "delivered"
	EvOpen             = "open"
	EvClick            = "click"
	EvBounce           = "bounce"
	EvDropped          = "dropped"
	EvSpamReport       = "spamreport"
	EvUnsubscribe      = "unsubscribe"
	EvGroupUnsubscribe = "group_unsubscribe"
	EvGroupResubscribe = "group_resubscribe"
	EvReply            = "reply"
)

// progress orders the statuses engagement moves a message through; a late
// "delivered" never undoes an "opened". Bounces and drops end the line.
var progress = map[Status]int{Sent: 1, Ambiguous: 1, Delivered: 2, Opened: 3, Clicked: 4, Replied: 5, BouncedMsg: 6, Dropped: 6}

// Observe applies a provider event or a reply to the record and reports
// whether it knew the event type.
func (r *Record) Observe(event string, at time.Time) bool {
	first := func(t *time.Time) {
		if t.IsZero() || at.Before(*t) {
			*t = at
		}
	}
	next := Status("")
	switch event {
	case EvProcessed, EvGroupResubscribe:
	case EvDeferred:
		r.Deferrals++
	case EvDelivered:
		first(&r.DeliveredAt)
		next = Delivered
	case EvOpen:
		first(&r.OpenedAt)
		r.Opens++
		next = Opened
	case EvClick:
		first(&r.ClickedAt)
		r.Clicks++
		next = Clicked
	case EvReply:
		first(&r.RepliedAt)
		next = Replied
	case EvBounce:
		next = BouncedMsg
	case EvDropped:
		next = Dropped
	case EvSpamReport, EvUnsubscribe, EvGroupUnsubscribe:
		r.Complaint = event
	default:
		return false
	}
	// Any word from the provider about the message says it took it. While a
	// sender still holds the claim, that is noted for its settle (an answer
	// lost after SendGrid took the mail is then no ambiguity); an email
	// recorded ambiguous, or to retry, is sent.
	first(&r.TakenAt)
	switch r.Status {
	case Sending:
		return true
	case Ambiguous, Retry:
		r.RecheckAt = time.Time{}
		if r.SentAt.IsZero() {
			r.SentAt = at
		}
		r.Status = Sent
	}
	if next != "" && progress[next] > progress[r.Status] {
		r.Status = next
	}
	return true
}

// ReplyTokenOf is the token in the reply address of an email message: the
// message's retry-key UUID without dashes (32 lowercase hex characters), so
// it fits an address's local part and reveals nothing.
func ReplyTokenOf(k Key) string { return strings.ReplaceAll(k.RetryKey(), "-", "") }

// ValidReplyToken reports whether s looks like a reply token.
func ValidReplyToken(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// Milestones are the firsts a change brought a message to, as the report
// counts them: delivered, opened, clicked, replied, and the first
// unsubscribe or complaint.
func Milestones(before, after *Record) []string {
	var out []string
	for _, m := range []struct {
		name string
		b, a time.Time
	}{
		{"delivered", before.DeliveredAt, after.DeliveredAt}, {"opened", before.OpenedAt, after.OpenedAt},
		{"clicked", before.ClickedAt, after.ClickedAt}, {"replied", before.RepliedAt, after.RepliedAt},
	} {
		if m.b.IsZero() && !m.a.IsZero() {
			out = append(out, m.name)
		}
	}
	if before.Complaint == "" && after.Complaint != "" {
		if after.Complaint == EvSpamReport {
			out = append(out, "complained")
		} else {
			out = append(out, "unsubscribed")
		}
	}
	return out
}
