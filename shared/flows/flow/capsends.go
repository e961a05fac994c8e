package flow

import (
	"context"
	"fmt"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// CapMessages reads a customer's messages, for a customer stored before
// their record of what counts against the cap was kept.
type CapMessages interface {
	MessagesSince(ctx context.Context, customerID string, since time.Time) ([]*message.Record, error)
}

// CapSends is what counts against the frequency cap for c at now: the
// record on the customer, read with it. A customer stored before the record
// was kept has none: their messages of the cap's window are read instead,
// once, since the first message recorded for them that counts writes the
// record whole (see delivery.CapChange).
func CapSends(ctx context.Context, l CapMessages, c *customer.Customer, p delivery.Policy, now time.Time) (map[string]customer.CapSend, error) {
	if c.CapSends != nil {
		return c.CapSends, nil
	}
	recs, err := l.MessagesSince(ctx, c.ID, p.Cap.Since(now))
	if err != nil {
		return nil, fmt.Errorf("messages of %s for the frequency cap: %w", c.ID, err)
	}
	return delivery.CapSendsOf(recs), nil
}
