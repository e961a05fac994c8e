package inbox

import (
	"time"

	"github.com/daifuku/daifuku/shared/customer"
	"github.com/daifuku/daifuku/shared/feedback"
	"github.com/daifuku/daifuku/shared/message"
)

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
	Feedback   []feedback.Feedback
}
