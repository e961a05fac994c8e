package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/webhook"
)

// stopStatus is what an event says about the recipient's address, if it
// stops email to it.
func stopStatus(ev webhook.MailEvent) customer.ContactStatus {
	switch ev.Type {
	case message.EvBounce:
		if ev.BounceType == "blocked" {
			return "" // a temporary block by the receiving server, not a dead address
		}
		return customer.Bounced
	case message.EvSpamReport:
		return customer.Complained
	case message.EvUnsubscribe, message.EvGroupUnsubscribe:
		return customer.Unsubscribed
	}
	return ""
}

// mailEvent applies one SendGrid event: the message's status and engagement,
// and a stop on the address when it bounced or the customer said no.
func (p *Processor) mailEvent(ctx context.Context, raw []byte) (bool, error) {
	ev, err := p.DecodeMail(raw)
	if err != nil {
		p.Logger().ErrorContext(ctx, "sendgrid event unreadable; ignored", "error", err)
		return false, nil
	}
	if !(&message.Record{}).Observe(ev.Type, ev.At) {
		return false, nil // an event type daifuku does not know: accepted and ignored
	}
	if ev.Test {
		// A studio test: a bounce or a complaint there says nothing of any
		// customer who shares the address.
		return false, nil
	}
	return p.apply(ctx, func() (*webhook.Effects, error) {
		e := &webhook.Effects{Marker: webhook.Marker(webhook.SendGrid, ev.ID)}
		var rec *message.Record
		if ev.MessageKey != "" {
			r, err := p.Ledger.Message(ctx, message.Key(ev.MessageKey))
			switch {
			case errors.Is(err, domain.ErrNotFound):
			case err != nil:
				return nil, err
			default:
				rec = r
			}
		}
		p.engage(e, rec, ev.Type, ev.At)
		if ev.Type == message.EvGroupUnsubscribe || ev.Type == message.EvGroupResubscribe {
			// A topic's unsubscribe group: the topic stops (or starts
			// again), not all email. A group no topic has is an unsubscribe.
			c, err := p.mailCustomer(ctx, rec, ev.Email)
			if err != nil {
				return nil, err
			}
			if c != nil && strings.EqualFold(c.Email, ev.Email) {
				changed, ok := p.groupEvent(c, ev, ev.Type == message.EvGroupResubscribe)
				if changed {
					e.Customer = c
				}
				if ok || ev.Type == message.EvGroupResubscribe {
					return e, nil
				}
			}
		}
		if stop := stopStatus(ev); stop != "" {
			c, err := p.mailCustomer(ctx, rec, ev.Email)
			if err != nil {
				return nil, err
			}
			// Stop the address the event is about, not a newer one the customer gave since.
			if c != nil && strings.EqualFold(c.Email, ev.Email) && c.Consent.EmailStatus == customer.Reachable {
				c.Consent.EmailStatus = stop
				if stop == customer.Unsubscribed {
					c.Consent.Email = false
				}
				c.NoteConsent(customer.Email, ev.At, customer.BySendGridEvent, "sendgrid "+ev.Type)
				e.Customer = c
			}
		}
		return e, nil
	})
}

// mailCustomer finds the customer an email event is about: the message's
// customer, or else the owner of the address.
func (p *Processor) mailCustomer(ctx context.Context, rec *message.Record, addr string) (*customer.Customer, error) {
	var c *customer.Customer
	var err error
	if rec != nil {
		c, err = p.Ledger.Customer(ctx, rec.CustomerID)
	} else {
		c, err = p.Ledger.CustomerByEmail(ctx, addr)
	}
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	return c, err
}

// UnknownSender is the customer id of replies daifuku cannot attribute:
// kept (someone wrote to the shop, and staff read it), linked to no one.
// It holds a "|", which no customer id may, so it can never be someone's.
const UnknownSender = "|unknown"

// Reply is an email reply as the ledger took it: whose it is, the message it
// answers, and how sure that is. The forward to the shop says so.
type Reply struct {
	CustomerID string          // UnknownSender when not attributed
	About      *message.Record // the message it answers, if known
	// FromMismatch: it came to a message's reply address from an address
	// that is not that message's customer's (forwarded, or forged).
	FromMismatch bool
	// Unverified: it names no message, and its From could not be trusted
	// (neither SPF nor DKIM passed for the sender's domain), so it is
	// credited to no one.
	Unverified bool
}

// inboundMail applies an email reply: feedback from the customer, linked to
// the message whose reply address it was sent to. A reply without a valid
// reply address is credited to the owner of its From address only when SPF or
// DKIM vouches for that address's domain: a From is trivial to forge.
func (p *Processor) inboundMail(ctx context.Context, raw []byte) (bool, error) {
	var m webhook.InboundMail
	if err := json.Unmarshal(raw, &m); err != nil {
		p.Logger().ErrorContext(ctx, "inbound mail unreadable; ignored")
		return false, nil
	}
	sum := sha256.Sum256(raw)
	id := hex.EncodeToString(sum[:16])
	var reply Reply
	applied, err := p.apply(ctx, func() (*webhook.Effects, error) {
		e := &webhook.Effects{Marker: webhook.Marker(webhook.Inbound, id)}
		reply = Reply{CustomerID: UnknownSender}
		rec, err := p.repliedTo(ctx, m.To)
		if err != nil {
			return nil, err
		}
		var c *customer.Customer
		switch {
		case rec != nil:
			c, err = p.Ledger.Customer(ctx, rec.CustomerID)
		case m.Authenticated():
			c, err = p.Ledger.CustomerByEmail(ctx, m.From)
		default:
			reply.Unverified = true
		}
		switch {
		case errors.Is(err, domain.ErrNotFound):
			c = nil
		case err != nil:
			return nil, err
		}
		if c != nil {
			if feedback.AsksForFewer(m.Text) && c.AskForFewer() {
				c.NoteConsent(customer.Email, p.Now(), customer.ByReply, "asked for fewer messages")
				e.Customer = c
			}
			reply.CustomerID = c.ID
			reply.FromMismatch = !strings.EqualFold(c.Email, m.From)
			if rec == nil {
				if rec, err = p.lastSent(ctx, c.ID, customer.Email); err != nil {
					return nil, err
				}
			}
		}
		p.engage(e, rec, message.EvReply, p.Now())
		reply.About = rec
		fb := feedback.Feedback{ID: "email-" + id, CustomerID: reply.CustomerID, Channel: customer.Email, Type: feedback.Comment,
			Text: feedback.StripQuoted(m.Text), Question: m.Subject, At: p.Now()}
		if rec != nil {
			fb.MessageKey, fb.Kind = rec.Key, rec.Kind
		}
		e.Feedback = []feedback.Feedback{fb}
		return e, nil
	})
	if applied && p.Forward != nil {
		// After the commit, once: a failed forward is logged, the reply is kept.
		if err := p.Forward(ctx, m, reply); err != nil {
			p.Logger().WarnContext(ctx, "email reply not forwarded to the shop", "customer_id", reply.CustomerID, "error", err)
		}
	}
	if applied {
		p.Logger().InfoContext(ctx, "email reply stored", "customer_id", reply.CustomerID,
			"from_mismatch", reply.FromMismatch, "unverified", reply.Unverified)
	}
	return applied, err
}

// repliedTo finds the message whose reply address (reply+<token>@…) is among the recipients.
func (p *Processor) repliedTo(ctx context.Context, to []string) (*message.Record, error) {
	for _, addr := range to {
		local, _, _ := strings.Cut(addr, "@")
		token, ok := strings.CutPrefix(local, "reply+")
		if !ok || !message.ValidReplyToken(token) {
			continue
		}
		rec, err := p.Ledger.MessageByReplyToken(ctx, token)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		return rec, err
	}
	return nil, nil
}
