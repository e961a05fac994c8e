package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/webhook"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// FormAnswer is what a customer sent from the feedback page an email's
// rating links open.
type FormAnswer struct {
	Message message.Key // from the link's signed token
	Rating  int         // 1–5
	Comment string
	Publish bool // the customer agreed to publish the comment without their name
}

// AnswerForm records a feedback form: the rating, and the comment with the
// customer's answer about publishing it, and marks the message answered, at
// once. A second submission replaces the first; the same one twice changes
// nothing.
func (p *Processor) AnswerForm(ctx context.Context, a FormAnswer) error {
	sum := sha256.Sum256([]byte(a.Message))
	id := "web-" + hex.EncodeToString(sum[:12])
	sub := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%s\x00%t", a.Message, a.Rating, a.Comment, a.Publish))
	return p.answerWeb(ctx, a.Message, sub, func(base feedback.Feedback) []feedback.Feedback {
		rf := base
		rf.ID, rf.Type, rf.Rating = id+"-rating", feedback.Rating, a.Rating
		fbs := []feedback.Feedback{rf}
		if a.Comment != "" {
			cf := base
			cf.ID, cf.Type, cf.Text, cf.Rating = id+"-comment", feedback.Comment, a.Comment, a.Rating
			cf.SetTestimonial(a.Publish)
			fbs = append(fbs, cf)
		}
		return fbs
	})
}

// Answer records a customer's answer to a message's one-tap question, given
// by an email link. The message's question has one answer, the latest: a
// second answer replaces the first (and going back to the first works), the
// same answer twice stores the same item.
func (p *Processor) Answer(ctx context.Context, a feedback.Postback) error {
	if p.Script == nil {
		return errors.New("answer: no feedback script")
	}
	q, ok := p.Script.Questions[a.Question]
	if _, chosen := q.Choice(a.Value); !ok || !chosen {
		return fmt.Errorf("answer %s=%s: %w", a.Question, a.Value, ErrUnknownAnswer)
	}
	sum := sha256.Sum256([]byte(string(a.Message) + "\x00" + a.Question))
	// Each confirmation is a submission of its own (A, then B, then A again
	// ends on A); the answer's item id keeps one answer per question.
	sub := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d", a.Message, a.Question, a.Value, p.Now().UnixNano()))
	return p.answerWeb(ctx, a.Message, sub, func(base feedback.Feedback) []feedback.Feedback {
		base.ID, base.Type, base.Question, base.Answer = "web-"+hex.EncodeToString(sum[:12])+"-answer", feedback.Answer, a.Question, a.Value
		return []feedback.Feedback{base}
	})
}

// answerWeb applies what a customer sent from a page an email link opened:
// the feedback made from base (the customer, message and time filled in),
// and the message marked answered, at once. The submission's digest keeps
// the same one, sent twice, from applying twice.
func (p *Processor) answerWeb(ctx context.Context, key message.Key, submission [32]byte, made func(base feedback.Feedback) []feedback.Feedback) error {
	err := flow.RetryConflicts(ctx, func() error {
		rec, err := p.Ledger.Message(ctx, key)
		if err != nil {
			return err
		}
		now := p.Now()
		e := webhook.Effects{Marker: webhook.Marker(webhook.Web, hex.EncodeToString(submission[:16])), At: now, MessageWas: rec.UpdatedAt}
		e.Feedback = made(feedback.Feedback{CustomerID: rec.CustomerID, MessageKey: key, Kind: rec.Kind, Channel: customer.Email, At: now})
		if rec.Observe(message.EvReply, now) {
			rec.UpdatedAt = now
			e.Message = rec
		}
		return p.Ledger.Apply(ctx, e)
	})
	if errors.Is(err, webhook.ErrSeen) {
		return nil
	}
	return err
}

// ErrUnknownAnswer means an answer names a question or choice feedback.yaml
// does not have (any more).
var ErrUnknownAnswer = errors.New("no such question or choice")
