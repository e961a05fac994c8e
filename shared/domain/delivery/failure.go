package delivery

import (
	"fmt"
	"time"
)

// Failure is a send that did not go through, classified so the sender knows
// whether it may try again without risking a second copy.
type Failure struct {
	Provider   string // "line" or "sendgrid"
	Status     int    // HTTP status, 0 when no answer came
	Retryable  bool   // the provider did not take it; trying again is safe
	Ambiguous  bool   // the provider may have taken it; do not send again without a retry key
	RetryAfter time.Duration
	// QuotaUsedUp: the provider refuses every message until its quota comes
	// back (LINE's monthly limit); nothing was delivered, so another channel
	// is safe.
	QuotaUsedUp bool
	Reason      string // never personal data
}

func (f *Failure) Error() string {
	kind := "permanent"
	switch {
	case f.Ambiguous:
		kind = "ambiguous"
	case f.Retryable:
		kind = "retryable"
	}
	if f.Status != 0 {
		return fmt.Sprintf("%s: %s failure, status %d: %s", f.Provider, kind, f.Status, f.Reason)
	}
	return fmt.Sprintf("%s: %s failure: %s", f.Provider, kind, f.Reason)
}

// Receipt is what a provider said when it accepted a message.
type Receipt struct {
	ProviderID string // LINE sent-message or accepted-request id; SendGrid X-Message-Id
	Repeated   bool   // LINE answered 409: an earlier request with this retry key was accepted
}

// Envelope is who an email is from and to, and what travels with it.
type Envelope struct {
	FromEmail, FromName string
	ReplyTo             string
	ToEmail, ToName     string
	// CustomArgs come back on every event webhook call: the message key lives here.
	CustomArgs map[string]string
	Categories []string
	Headers    map[string]string
	// Group is the SendGrid unsubscribe group of the email's topic
	// (asm.group_id; 0: none, as for a thank-you), and GroupsToDisplay every
	// topic's, for SendGrid's own preference page.
	Group           int
	GroupsToDisplay []int
}
