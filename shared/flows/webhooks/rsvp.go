package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/event"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/domain/webhook"
)

// RSVPs records answers to event invitations (the events flow).
type RSVPs interface {
	Answer(ctx context.Context, eventID, customerID string, a event.Answer, via string) (event.Outcome, error)
}

// eventTap applies a tap on an invitation's 参加 / 不参加 button. A
// redelivered tap is refused by its marker before it is applied again: a
// 参加 redelivered after a later 不参加 must not take the seat back.
func (p *Processor) eventTap(ctx context.Context, marker string, ev webhook.LINEEvent, eventID string, a event.Answer) (*webhook.Effects, []*render.LINE, error) {
	if p.Events == nil {
		return nil, nil, nil
	}
	switch seen, err := p.Ledger.Seen(ctx, marker); {
	case err != nil:
		return nil, nil, err
	case seen:
		return nil, nil, webhook.ErrSeen
	}
	c, e, err := p.speaker(ctx, marker, ev)
	if err != nil {
		return nil, nil, err
	}
	out, err := p.Events.Answer(ctx, eventID, c.ID, a, "line")
	switch {
	case errors.Is(err, event.ErrNotInvited), errors.Is(err, event.ErrStarted):
		p.Logger().WarnContext(ctx, "event answer refused", "event", eventID, "customer_id", c.ID, "error", err)
		return e, []*render.LINE{{Text: refusal(err)}}, nil
	case err != nil:
		return nil, nil, err
	}
	if err := p.engageInvitation(ctx, e, c.ID, eventID, ev); err != nil {
		return nil, nil, err
	}
	return e, []*render.LINE{{Text: event.Reply(out)}}, nil
}

// engageInvitation marks the invitation answered (for the report).
func (p *Processor) engageInvitation(ctx context.Context, e *webhook.Effects, customerID, eventID string, ev webhook.LINEEvent) error {
	rec, err := p.Ledger.Message(ctx, event.Key(customerID, eventID, event.Invite))
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	p.engage(e, rec, message.EvReply, ev.At)
	return nil
}

func refusal(err error) string {
	if errors.Is(err, event.ErrStarted) {
		return event.ReplyStarted
	}
	return event.ReplyNotInvited
}

// AnswerLink applies an answer from the page of an email's signed RSVP link
// (the API checked the token): the same answer as a LINE tap, and the
// invitation is marked answered.
func (p *Processor) AnswerLink(ctx context.Context, eventID, customerID string, a event.Answer) (event.Outcome, error) {
	if p.Events == nil {
		return event.Outcome{}, fmt.Errorf("event answers are not configured")
	}
	out, err := p.Events.Answer(ctx, eventID, customerID, a, "email")
	if err != nil {
		return out, err
	}
	sum := sha256.Sum256([]byte(eventID + "\x00" + customerID + "\x00" + string(a)))
	marker := webhook.Marker(webhook.Web, "rsvp-"+hex.EncodeToString(sum[:16]))
	_, err = p.apply(ctx, func() (*webhook.Effects, error) {
		e := &webhook.Effects{Marker: marker}
		rec, err := p.Ledger.Message(ctx, event.Key(customerID, eventID, event.Invite))
		if errors.Is(err, domain.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		p.engage(e, rec, message.EvReply, p.Now())
		return e, nil
	})
	if errors.Is(err, webhook.ErrSeen) {
		err = nil
	}
	return out, err
}
