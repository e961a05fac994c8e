package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/daifuku/daifuku/shared/channel/email"
	"github.com/daifuku/daifuku/shared/customer"
	"github.com/daifuku/daifuku/shared/feedback"
	"github.com/daifuku/daifuku/shared/message"
	"github.com/daifuku/daifuku/shared/plan"
	"github.com/daifuku/daifuku/shared/rank"
	"github.com/daifuku/daifuku/shared/render"
)

// Ledger is what the worker reads and writes.
type Ledger interface {
	Batch(ctx context.Context, id string) (*Batch, error)
	FinishBatch(ctx context.Context, id string, at time.Time) error
	Apply(ctx context.Context, e Effects) error
	Seen(ctx context.Context, marker string) (bool, error)
	Customer(ctx context.Context, id string) (*customer.Customer, error)
	CustomerByLINE(ctx context.Context, userID string) (*customer.Customer, error)
	CustomerByEmail(ctx context.Context, addr string) (*customer.Customer, error)
	Message(ctx context.Context, key message.Key) (*message.Record, error)
	MessagesOf(ctx context.Context, customerID string, limit int32) ([]message.Record, error)
	MessageByReplyToken(ctx context.Context, token string) (*message.Record, error)
	FeedbackOf(ctx context.Context, customerID string) ([]feedback.Feedback, error)
}

// Replier answers a LINE event on the spot (a reply token, not a push).
type Replier interface {
	Reply(ctx context.Context, replyToken string, msgs ...*render.LINE) error
}

// Processor applies stored webhook batches to the ledger.
type Processor struct {
	Ledger Ledger
	Rules  *rank.Rules
	Plans  *plan.Plans // nil: no plans (new prospects get no next due date)
	Script *feedback.Script
	// LINE answers feedback buttons; nil: no follow-up questions.
	LINE Replier
	// Forward passes email replies on to the shop's support inbox; nil: not forwarded.
	Forward func(ctx context.Context, m email.InboundMail, customerID string, about *message.Record) error
	// Welcome runs a new friend's plan at once (the day-0 welcome); nil: the daily run does.
	Welcome func(ctx context.Context, customerID string, now time.Time) error
	Now     func() time.Time
	Log     *slog.Logger
}

// batchMessage is the queue message body: which stored batch to process.
type batchMessage struct {
	BatchID string `json:"batch_id"`
}

// HandleSQS processes queued batches, reporting the ones that failed so SQS
// retries only those (and, after five failures, parks them in the DLQ).
func (p *Processor) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, rec := range ev.Records {
		var m batchMessage
		if err := json.Unmarshal([]byte(rec.Body), &m); err != nil || m.BatchID == "" {
			// Not ours and never will be: retrying cannot help; the DLQ keeps it.
			p.log().ErrorContext(ctx, "webhook queue: unreadable message", "sqs_message_id", rec.MessageId)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			continue
		}
		if err := p.Process(ctx, m.BatchID); err != nil {
			p.log().ErrorContext(ctx, "webhook batch failed; SQS will retry", "batch_id", m.BatchID, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

// BatchBody is the queue message that names a stored batch.
func BatchBody(id string) string {
	b, _ := json.Marshal(batchMessage{BatchID: id})
	return string(b)
}

// Stats count what processing a batch did.
type Stats struct {
	Applied, Repeated, Ignored int
}

// Process applies every event of a stored batch once.
func (p *Processor) Process(ctx context.Context, id string) error {
	_, err := p.ProcessStats(ctx, id)
	return err
}

// ProcessStats is Process, reporting what it did.
func (p *Processor) ProcessStats(ctx context.Context, id string) (Stats, error) {
	var st Stats
	b, err := p.Ledger.Batch(ctx, id)
	if err != nil {
		return st, err
	}
	if b.Status == Done {
		return st, nil
	}
	for i, raw := range b.Events {
		var applied bool
		var err error
		switch b.Source {
		case LINE:
			applied, err = p.lineEvent(ctx, []byte(raw))
		case SendGrid:
			applied, err = p.mailEvent(ctx, []byte(raw))
		case Inbound:
			applied, err = p.inboundMail(ctx, []byte(raw))
		default:
			return st, fmt.Errorf("batch %s: unknown source %q", id, b.Source)
		}
		switch {
		case errors.Is(err, ErrSeen):
			st.Repeated++
		case err != nil:
			return st, fmt.Errorf("batch %s event %d: %w", id, i, err)
		case applied:
			st.Applied++
		default:
			st.Ignored++
		}
	}
	if err := p.Ledger.FinishBatch(ctx, id, p.now()); err != nil {
		return st, err
	}
	p.log().InfoContext(ctx, "webhook batch processed", "batch_id", id, "source", b.Source,
		"applied", st.Applied, "repeated", st.Repeated, "ignored", st.Ignored)
	return st, nil
}

// maxAttempts bounds retries when a customer or message changes under us.
const maxAttempts = 8

// apply builds an event's effects and writes them, building them again from
// a fresh read when the customer or message changed meanwhile.
func (p *Processor) apply(ctx context.Context, build func() (*Effects, error)) (bool, error) {
	for range maxAttempts {
		e, err := build()
		if err != nil || e == nil {
			return false, err
		}
		e.At = p.now()
		err = p.Ledger.Apply(ctx, *e)
		if errors.Is(err, customer.ErrConflict) {
			continue
		}
		return err == nil, err
	}
	return false, customer.ErrConflict
}

// engage marks a message as answered (or otherwise engaged with) in e.
func (p *Processor) engage(e *Effects, rec *message.Record, event string, at time.Time) bool {
	if rec == nil {
		return false
	}
	was := rec.UpdatedAt
	if !rec.Observe(event, at) {
		return false
	}
	rec.UpdatedAt = p.now()
	e.Message, e.MessageWas = rec, was
	return true
}

func (p *Processor) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Processor) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}
