// Package webhook holds what LINE and SendGrid tell daifuku through their
// webhooks, in daifuku's terms: the batch a request is stored as before it is
// answered, the events the adapters decode from it, and the effects one event
// has on the ledger (written with the event's marker, all at once).
package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// Source is who sent a batch of events.
type Source string

// Sources.
const (
	LINE     Source = "line"     // LINE webhook events
	SendGrid Source = "sendgrid" // SendGrid event webhook
	Inbound  Source = "inbound"  // SendGrid Inbound Parse: email replies
	Web      Source = "web"      // daifuku's own feedback form
)

// Batch statuses.
const (
	Received = "received"
	Done     = "done"
)

// Batch is the events of one webhook request, stored as received (each
// event's raw JSON) before the request is answered.
type Batch struct {
	ID         string    `dynamodbav:"id"`
	Source     Source    `dynamodbav:"source"`
	Events     []string  `dynamodbav:"events"`
	ReceivedAt time.Time `dynamodbav:"received_at"`
	Status     string    `dynamodbav:"status"`
	DoneAt     time.Time `dynamodbav:"done_at,omitempty"`
	// ExpiresAt (Unix seconds) lets DynamoDB's TTL drop old batches and markers.
	ExpiresAt int64 `dynamodbav:"expires_at"`
}

// Retention is how long raw batches and processed-event markers are kept:
// long past any provider's redelivery window (LINE and SendGrid retry for
// hours to days), short enough not to hoard personal data.
const Retention = 90 * 24 * time.Hour

// BatchID names a batch by its content, so a redelivered request maps to the
// batch already stored.
func BatchID(src Source, events []string) string {
	h := sha256.New()
	h.Write([]byte(src))
	for _, e := range events {
		h.Write([]byte{0})
		h.Write([]byte(e))
	}
	return "batch#" + string(src) + "#" + hex.EncodeToString(h.Sum(nil))[:40]
}

// Marker names the record that an event was processed.
func Marker(src Source, eventID string) string { return "seen#" + string(src) + "#" + eventID }

// ErrSeen means an event was processed before (a redelivery).
var ErrSeen = fmt.Errorf("event already processed: %w", domain.ErrDuplicate)

// queueBody is the queue message that names a stored batch.
type queueBody struct {
	BatchID string `json:"batch_id"`
}

// BatchBody is the queue message that names a stored batch.
func BatchBody(id string) string {
	b, _ := json.Marshal(queueBody{BatchID: id})
	return string(b)
}

// ParseBatchBody reads the batch id from a queue message.
func ParseBatchBody(body string) (string, error) {
	var m queueBody
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.BatchID == "" {
		return "", domain.Invalidf("webhook queue message: want {\"batch_id\": …}")
	}
	return m.BatchID, nil
}

// Effects are what one event changes in the ledger. The store writes them
// and the event's marker in one transaction: all of them once, or none.
type Effects struct {
	Marker string    // Marker(source, event id)
	At     time.Time // when it was processed
	// Customer is written with its version check (nil: unchanged).
	Customer *customer.Customer
	// Message is written if nobody changed it since it was read with
	// updated_at MessageWas (nil: unchanged).
	Message    *message.Record
	MessageWas time.Time
	// Milestones are the firsts the event brought the message to (opened,
	// clicked…): counted in its report row in the same transaction, so a
	// redelivered event, refused by its marker, counts nothing.
	Milestones []string
	Feedback   []feedback.Feedback
}
