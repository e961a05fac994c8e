package webhook

import (
	"strings"
	"time"
)

// LINEEvent is one LINE webhook event, reduced to what daifuku acts on.
type LINEEvent struct {
	ID         string // webhookEventId, or a digest of the event when LINE sent none
	Type       string // follow, unfollow, message, postback, … ("" if unknown to the SDK)
	UserID     string // "" unless the event came from a one-to-one chat
	At         time.Time
	Redelivery bool
	ReplyToken string
	// Follow
	Unblocked bool
	// Message: Text is set for text messages; MessageType names others (sticker, image…).
	MessageType string
	Text        string
	// Postback
	PostbackData string
}

// MailEvent is one SendGrid event, reduced to what daifuku acts on. Email is
// the recipient; it is used to find the customer, never logged.
type MailEvent struct {
	ID         string // sg_event_id, or a digest of the event when absent
	Type       string // processed, delivered, open, click, bounce, dropped, …
	Email      string
	At         time.Time
	MessageKey string // custom_args.message_key, as sent
	BounceType string // bounce: "bounce" (hard) or "blocked"
	// Group is the SendGrid unsubscribe group of a group_unsubscribe or
	// group_resubscribe (asm_group_id); 0 otherwise.
	Group int
	// Test: the studio's test send (custom_args.test); about no customer.
	Test bool
}

// InboundMail is an email a customer sent to the shop's reply address, as
// SendGrid Inbound Parse posts it, without attachments.
type InboundMail struct {
	From string `json:"from"` // the sender's address, lowercased
	// FromEnvelope: From is the envelope sender (the address SPF checks),
	// not the From header.
	FromEnvelope bool     `json:"from_envelope,omitempty"`
	To           []string `json:"to"` // envelope recipients: the reply address is among them
	Subject      string   `json:"subject,omitempty"`
	Text         string   `json:"text"`
	InReplyTo    string   `json:"in_reply_to,omitempty"`
	SPF          string   `json:"spf,omitempty"`
	DKIM         string   `json:"dkim,omitempty"`
}

// Authenticated reports whether the receiving server vouched for the
// sender's domain: SPF passed for the envelope sender (when From is it), or a DKIM signature of the From address's domain (or a parent of it)
// passed. SendGrid reports DKIM as "{@example.jp : pass, @other.jp : fail}".
func (m InboundMail) Authenticated() bool {
	_, domain, ok := strings.Cut(m.From, "@")
	if !ok || domain == "" {
		return false
	}
	domain = strings.ToLower(domain)
	if m.FromEnvelope && strings.EqualFold(strings.TrimSpace(m.SPF), "pass") {
		return true
	}
	for _, part := range strings.Split(strings.Trim(strings.TrimSpace(m.DKIM), "{}"), ",") {
		signer, result, ok := strings.Cut(part, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(result), "pass") {
			continue
		}
		signer = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(signer), "@"))
		if signer != "" && (domain == signer || strings.HasSuffix(domain, "."+signer)) {
			return true
		}
	}
	return false
}
