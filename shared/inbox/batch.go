// Package inbox takes in what LINE and SendGrid tell daifuku through their
// webhooks. The API verifies a request, stores its events as a batch and
// answers at once; a worker behind a queue applies each event to the ledger
// exactly once (its marker is written in the same transaction as its effects).
package inbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Source is who sent a batch of events.
type Source string

// Sources.
const (
	LINE     Source = "line"     // LINE webhook events
	SendGrid Source = "sendgrid" // SendGrid event webhook
	Inbound  Source = "inbound"  // SendGrid Inbound Parse: email replies
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

// batchID names a batch by its content, so a redelivered request maps to the
// batch already stored.
func batchID(src Source, events []string) string {
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
var ErrSeen = errors.New("event already processed")
