package intake

import (
	"context"
	"errors"
	"fmt"

	"github.com/daifuku/daifuku/shared/customer"
)

// OptOut records that a customer no longer wants messages on a channel. It is
// idempotent, and an unknown customer is not an error (the link may outlive them).
func (in *Intake) OptOut(ctx context.Context, customerID string, ch customer.Channel) error {
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		c, err := in.Ledger.Customer(ctx, customerID)
		if errors.Is(err, customer.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		switch ch {
		case customer.Email:
			if c.Consent.EmailStatus == customer.Unsubscribed && !c.Consent.Email {
				return nil
			}
			c.Consent.Email, c.Consent.EmailStatus = false, customer.Unsubscribed
		case customer.LINE:
			if !c.Consent.LINE {
				return nil
			}
			c.Consent.LINE = false
		default:
			return fmt.Errorf("opt out: unknown channel %q", ch)
		}
		err = in.Ledger.SaveCustomer(ctx, c)
		if errors.Is(err, customer.ErrConflict) {
			continue
		}
		if err == nil {
			in.log().InfoContext(ctx, "opted out", "customer_id", customerID, "channel", ch)
		}
		return err
	}
	return fmt.Errorf("opt out %s: %w", customerID, customer.ErrConflict)
}
