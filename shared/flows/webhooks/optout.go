package webhooks

import (
	"context"
	"errors"
	"fmt"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// OptOut records that a customer no longer wants messages on a channel (a
// one-click unsubscribe link). It is idempotent, and an unknown customer is
// not an error (the link may outlive them).
func (p *Processor) OptOut(ctx context.Context, customerID string, ch customer.Channel) error {
	err := flow.RetryConflicts(ctx, func() error {
		c, err := p.Ledger.Customer(ctx, customerID)
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
			return domain.Invalidf("opt out: unknown channel %q", ch)
		}
		c.NoteConsent(ch, p.Now(), customer.ByUnsubscribeLink, "unsubscribe link")
		if err := p.Ledger.SaveCustomer(ctx, c); err != nil {
			return err
		}
		p.Logger().InfoContext(ctx, "opted out", "customer_id", customerID, "channel", ch)
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opt out %s: %w", customerID, err)
	}
	return nil
}
